//! `rewind emulator`: serve an emulated tenant. The first stdout line is the connection JSON of
//! DESIGN §8.1, so scripts can read it and connect.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use rewind_emulator::{Access, EmulatorInfo};

use crate::exit::Expected;

use crate::cli::EmulatorArgs;

pub async fn run(args: EmulatorArgs) -> anyhow::Result<()> {
    let emulator = rewind_emulator::start(super::emulator_config(&args.tenant))
        .await
        .map_err(|e| Expected::Usage(e.to_string()))?;
    if let Some(path) = &args.env_file {
        write_env_file(path, &emulator.info)
            .map_err(|e| Expected::Usage(format!("cannot write {}: {e}", path.display())))?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(&emulator.info)?)?;
    out.flush()?;
    drop(out);
    tracing::info!(addr = %emulator.addr, "emulator serving");
    super::shutdown_signal().await;
    emulator.shutdown().await?;
    Ok(())
}

/// Writes the `REWIND_*` settings that point `rewind` at this emulator, as shell exports
/// (`. ./emulator.env`): its URLs, tenant, and the read and write apps. Written whole before
/// the connection line is printed, and readable by its owner only (it holds secrets).
fn write_env_file(path: &Path, info: &EmulatorInfo) -> std::io::Result<()> {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut text = format!(
        "# Written by `rewind emulator`: source it (. ./{}) to point rewind at the emulated tenant.\n\
         export REWIND_GRAPH_URL={} REWIND_AUTHORITY_URL={} REWIND_TENANT_ID={}\n",
        path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        quote(&info.graph_url),
        quote(&info.authority_url),
        quote(&info.tenant_id)
    );
    for (access, prefix) in
        [(Access::Read, "REWIND_CLIENT"), (Access::Write, "REWIND_WRITE_CLIENT")]
    {
        if let Some(c) = info.client(access) {
            let _ = writeln!(
                text,
                "export {prefix}_ID={} {prefix}_SECRET={}",
                quote(&c.client_id),
                quote(&c.client_secret)
            );
        }
    }
    let partial = path.with_extension("partial");
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    file.open(&partial)?.write_all(text.as_bytes())?;
    std::fs::rename(&partial, path)
}
