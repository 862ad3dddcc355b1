//! `rewind emulator`: serve an emulated tenant. The first stdout line is the connection JSON of
//! DESIGN §8.1, so scripts can read it and connect.

use std::io::Write as _;

use crate::exit::Expected;

use crate::cli::EmulatorArgs;

pub async fn run(args: EmulatorArgs) -> anyhow::Result<()> {
    let emulator = rewind_emulator::start(super::emulator_config(&args.tenant))
        .await
        .map_err(|e| Expected::Usage(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(&emulator.info)?)?;
    out.flush()?;
    drop(out);
    tracing::info!(addr = %emulator.addr, "emulator serving");
    super::shutdown_signal().await;
    emulator.shutdown().await?;
    Ok(())
}
