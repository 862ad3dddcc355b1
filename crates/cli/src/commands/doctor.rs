//! `rewind doctor`: connects as capture and restore would and says what this app registration
//! can do here; exit 3 when something Rewind needs is missing.

use rewind_app::Config;
use rewind_app::doctor::{Status, doctor};
use rewind_msgraph::ClientOptions;

use super::session::{settings, usage};
use crate::cli::DoctorArgs;
use crate::exit::Expected;
use crate::output::outln;
use crate::text::inert;

pub async fn run(args: DoctorArgs) -> anyhow::Result<()> {
    let mut raw = settings(&args.store, Some(&args.connect))?;
    if args.write_client_id.is_some() {
        raw.write_client_id.clone_from(&args.write_client_id);
    }
    if args.write_client_secret.is_some() {
        raw.write_client_secret.clone_from(&args.write_client_secret);
    }
    let config = Config::resolve(raw).map_err(usage)?;
    let read = config.read_client(ClientOptions::default())?;
    let (write, separate) = config.write_client(ClientOptions::default())?;
    let report = doctor(&read, Some((&write, separate))).await;
    if args.store.json {
        outln!("{}", serde_json::to_string(&report)?)?;
    } else {
        for f in &report.findings {
            let mark = match f.status {
                Status::Ok => "ok",
                Status::Missing => "MISSING",
                Status::Unavailable => "n/a",
            };
            outln!("{mark:<8} {}: {}", inert(&f.check), inert(&f.detail))?;
            if let Some(fix) = &f.fix {
                outln!("{:<8}   fix: {}", "", inert(fix))?;
            }
        }
    }
    if report.ready() {
        Ok(())
    } else {
        Err(Expected::Auth(
            "some of what Rewind needs is missing (above, each with its fix)".into(),
        )
        .into())
    }
}
