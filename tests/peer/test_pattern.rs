//! Chromium's own H.264 decoder (WebCodecs) decodes `TestPattern` frames, and the luma it shows
//! is exactly the pattern's: the built-in video source is a real video stream.

use crate::support::chromium;

use cloudflare_calls::peer::TestPattern;

/// Decodes one access unit and returns the size and the luma plane the decoder produced.
const DECODE: &str = r#"(async (bytes) => {
  const frames = [];
  let failure = null;
  const decoder = new VideoDecoder({ output: (f) => frames.push(f), error: (e) => { failure = String(e); } });
  decoder.configure({ codec: 'avc1.42C01F', optimizeForLatency: true });
  decoder.decode(new EncodedVideoChunk({ type: 'key', timestamp: 0, data: new Uint8Array(bytes) }));
  await decoder.flush().catch((e) => { failure = failure || String(e); });
  if (failure || frames.length !== 1) return { failure, frames: frames.length };
  const f = frames[0];
  const { width, height } = f.visibleRect;
  const buf = new Uint8Array(f.allocationSize());
  const [luma] = await f.copyTo(buf);
  const rows = [];
  for (let y = 0; y < height; y++) {
    rows.push(Array.from(buf.subarray(luma.offset + y * luma.stride, luma.offset + y * luma.stride + width)));
  }
  const format = f.format;
  f.close();
  return { width, height, format, rows };
})"#;

/// Serves an empty page on loopback: WebCodecs needs a secure context, which about:blank is not.
async fn serve_blank_page() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut request = [0u8; 2048];
            let _ = conn.read(&mut request).await;
            let page = "<!doctype html><title>pattern</title>";
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = conn.write_all(response.as_bytes()).await;
        }
    });
    url
}

#[tokio::test]
async fn chromium_decodes_every_frame_to_exactly_the_pattern() {
    if chromium::skip_without_chromium() {
        return;
    }
    let browser = chromium::Browser::launch().await.unwrap();
    browser.goto(&serve_blank_page().await).await.unwrap();
    let mut pattern = TestPattern::new(64, 48).unwrap();
    for n in 0..3u32 {
        let frame = pattern.next_frame();
        let js = format!("{DECODE}({})", serde_json::to_string(&frame).unwrap());
        let decoded = browser.eval(&js).await.unwrap();
        let size = (&decoded["width"], &decoded["height"], &decoded["format"]);
        assert_eq!(
            (size.0, size.1),
            (&64.into(), &48.into()),
            "frame {n}: {size:?}"
        );
        let rows = decoded["rows"].as_array().unwrap();
        for (y, row) in rows.iter().enumerate() {
            for (x, sample) in row.as_array().unwrap().iter().enumerate() {
                let expected = TestPattern::luma(n, x as u32, y as u32);
                assert_eq!(
                    sample.as_u64(),
                    Some(u64::from(expected)),
                    "frame {n} at ({x}, {y})"
                );
            }
        }
    }
}
