//! Where the examples run: on Cloudflare when the environment names an app (`CALLS_*`
//! variables), on an emulator inside the process when it names nothing. A partial or empty
//! setting stops the example with the variable's name rather than falling back quietly.

use cloudflare_calls::Config;

/// The configuration to use, and the emulator serving it when it runs here (keep it alive).
pub async fn config_or_emulator()
-> Result<(Config, Option<calls_emulator::Emulator>), Box<dyn std::error::Error>> {
    if let Some(config) = Config::from_env_if_any()? {
        println!("using Cloudflare at {}", config.base_url());
        return Ok((config, None));
    }
    let emulator = calls_emulator::Emulator::start().await?;
    println!(
        "no CALLS_* variable is set: using an emulator inside this process \
         (set CALLS_APP_ID and CALLS_APP_SECRET to use Cloudflare)"
    );
    let config = Config::new(
        emulator.sfu_base_url(),
        emulator.app_id(),
        emulator.app_secret(),
    );
    Ok((config, Some(emulator)))
}
