// medooze's whip-whep library (tests/whip/node_modules, served at /whip-whep/) driven in the
// example's page (examples/whip/index.html), whose `publishers`, `players` and `sleep` it
// shares: the test imports this module into the page and calls these.
import { WHIPClient } from '/whip-whep/whip.js';
import { WHEPClient } from '/whip-whep/whep.js';

// WHIP through WHIPClient: camera and microphone.
export async function libPublish(url, token) {
  const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
  const pc = new RTCPeerConnection();
  for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
  const client = new WHIPClient();
  await client.publish(pc, url, token);
  publishers.push({ pc, media, client, location: client.resourceURL.pathname });
}

// WHEP through WHEPClient; a 503 (the broadcast not live yet) is tried again with a new
// connection. Returns the player's index.
export async function libPlay(url, token) {
  for (let attempt = 1; ; attempt++) {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    const video = document.createElement('video');
    Object.assign(video, { autoplay: true, muted: true, playsInline: true });
    video.srcObject = new MediaStream(pc.getReceivers().map((r) => r.track));
    document.body.append(video);
    const client = new WHEPClient();
    try {
      await client.view(pc, url, token);
      players.push({ pc, video, client, location: client.resourceURL.pathname, ended: false });
      return players.length - 1;
    } catch (e) {
      pc.close();
      video.remove();
      if (attempt < 20 && /status 503/.test(e.message)) {
        await sleep(500);
        continue;
      }
      throw e;
    }
  }
}

// Stops every peer through its library client (a DELETE of its resource each).
export async function libStopAll() {
  for (const peer of [...players, ...publishers]) await peer.client.stop();
}
