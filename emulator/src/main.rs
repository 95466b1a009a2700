//! `calls-emulator`: runs the emulator until Ctrl-C and prints how to reach it.

use std::io::Write;
use std::net::SocketAddr;

use calls_emulator::Emulator;

fn usage() -> ! {
    eprintln!("usage: calls-emulator [--port N | --bind ADDR:PORT] [--announce IP]");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut builder = Emulator::builder();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        builder = match arg.as_str() {
            "--port" => builder.port(value.parse().unwrap_or_else(|_| usage())),
            "--bind" => builder.bind(value.parse::<SocketAddr>().unwrap_or_else(|_| usage())),
            "--announce" => builder.announce(value.parse().unwrap_or_else(|_| usage())),
            _ => usage(),
        };
    }
    let emu = match builder.start().await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("calls-emulator: {e}");
            std::process::exit(1)
        }
    };
    // These are throwaway credentials of a local emulator; printing them is the point, as the
    // variables `cloudflare_calls::Config::from_env` reads, ready to export. A closed stdout
    // must not stop the server, hence the ignored write errors.
    let lines = [
        format!("calls-emulator listening on {}", emu.base_url()),
        format!("export CALLS_API={}", emu.sfu_base_url()),
        format!("export CALLS_APP_ID={}", emu.app_id()),
        format!("export CALLS_APP_SECRET={}", emu.app_secret()),
        format!("export CALLS_ACCOUNT_API={}", emu.account_base_url()),
        format!("export CLOUDFLARE_ACCOUNT_ID={}", emu.account_id()),
        format!("export CLOUDFLARE_API_TOKEN={}", emu.api_token()),
        format!("export CALLS_TURN_KEY_ID={}", emu.turn_key_id()),
        format!("export CALLS_TURN_KEY_TOKEN={}", emu.turn_key_token()),
    ];
    let mut out = std::io::stdout().lock();
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    drop(out);
    let _ = tokio::signal::ctrl_c().await;
}
