//! What the two access rules add to a watch cycle (docs/benchmarks.md): the evaluation of
//! snapshots `FROM` → `TO` of an existing store, with every rule on, against the same with
//! `policy-exclusion-grew` and `protected-principal-weakened` off; median of 7 each, in
//! process (no start-up, as in `rewind watch`). Alerts are stored once, so repeated runs do
//! the same work.
//!
//!     REWIND_BENCH_STORE=t.db cargo bench -p rewind-app --bench watch_rules [-- FROM TO]
//!
//! `dev/bench-lockout` runs it on `large` before and after the `attacker` scenario.

#![expect(
    clippy::expect_used,
    reason = "a benchmark stops loudly when its store is not as described"
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use rewind_app::watch::{EvaluateOptions, evaluate};
use rewind_engine::risk::{Rule, RuleSetting, Settings};
use rewind_store::Store;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn options(access_rules: bool) -> EvaluateOptions {
    let off = RuleSetting { enabled: Some(false), severity: None };
    let rules: BTreeMap<Rule, RuleSetting> = if access_rules {
        BTreeMap::new()
    } else {
        [(Rule::PolicyExclusionGrew, off), (Rule::ProtectedPrincipalWeakened, off)].into()
    };
    EvaluateOptions {
        settings: Settings { rules, ..Settings::default() },
        ..EvaluateOptions::default()
    }
}

fn main() {
    let Ok(path) = std::env::var("REWIND_BENCH_STORE") else {
        eprintln!("set REWIND_BENCH_STORE to a store with two snapshots (dev/bench-lockout does)");
        return;
    };
    let args: Vec<i64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (from, to) = match args.as_slice() {
        [f, t, ..] => (*f, *t),
        _ => (1, 2),
    };
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    rt.block_on(async {
        let store = Store::open_sqlite(Path::new(&path), None)
            .await
            .expect("the store opens");
        let tenant = store.tenants().await.expect("tenants").remove(0);
        let from = store.snapshot(&tenant, rewind_store::SnapshotId(from)).await.expect("read").expect("FROM exists");
        let to = store.snapshot(&tenant, rewind_store::SnapshotId(to)).await.expect("read").expect("TO exists");
        let mut times: BTreeMap<bool, Vec<Duration>> = BTreeMap::new();
        for round in 0..8 {
            for on in [false, true] {
                let t = Instant::now();
                let alerts = evaluate(&store, &tenant, Some(&from), &to, &options(on))
                    .await
                    .expect("evaluates");
                // The first round stores the alerts; the rest find them stored.
                if round > 0 {
                    times.entry(on).or_default().push(t.elapsed());
                } else {
                    eprintln!("{} alerts with the access rules {}", alerts.len(), if on { "on" } else { "off" });
                }
            }
        }
        let off = median(times.remove(&false).unwrap_or_default());
        let on = median(times.remove(&true).unwrap_or_default());
        println!(
            "watch evaluation {} -> {}: {:.0} ms without the access rules, {:.0} ms with them: +{:.0} ms (budget +200 ms)",
            from.id,
            to.id,
            off.as_secs_f64() * 1000.0,
            on.as_secs_f64() * 1000.0,
            (on.as_secs_f64() - off.as_secs_f64()) * 1000.0
        );
    });
}
