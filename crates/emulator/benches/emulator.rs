//! Emulator benchmark: seeding the `large` preset, the resident memory of the served tenant, and
//! paging every user at the maximum page size over loopback. Prints figures; asserts nothing.
//!
//! Run: `cargo bench -p rewind-emulator --bench emulator` (figures go to docs/benchmarks.md).

#![expect(clippy::expect_used, reason = "a benchmark stops at the first failure")]

use std::time::Instant;

/// The same allocator as the `rewind` binary: the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use rewind_emulator::{Access, EmulatorConfig, Preset};
use serde_json::Value;

fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// Pages `/users?$top=999` to the end; returns (users, pages, seconds).
async fn page_all_users(http: &reqwest::Client, base: &str, token: &str) -> (usize, usize, f64) {
    let start = Instant::now();
    let (mut users, mut pages) = (0, 0);
    let mut next = Some(format!("{base}/v1.0/users?$top=999"));
    while let Some(url) = next {
        let page: Value = http
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("page")
            .json()
            .await
            .expect("json");
        users += page["value"].as_array().map_or(0, Vec::len);
        pages += 1;
        next = page["@odata.nextLink"].as_str().map(str::to_string);
    }
    (users, pages, start.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() {
    let config = EmulatorConfig {
        seed: Preset::Large.options(1),
        preset: Some(Preset::Large),
        ..EmulatorConfig::default()
    };
    let started = Instant::now();
    let emu = rewind_emulator::start(config).await.expect("emulator starts");
    let seed_s = started.elapsed().as_secs_f64();
    let counts = emu.with_tenant(|t| {
        [
            rewind_emulator::Coll::Users,
            rewind_emulator::Coll::Groups,
            rewind_emulator::Coll::Applications,
            rewind_emulator::Coll::ServicePrincipals,
            rewind_emulator::Coll::CaPolicies,
            rewind_emulator::Coll::AppRoleAssignments,
            rewind_emulator::Coll::RoleAssignments,
        ]
        .map(|c| (c.context_path(), t.count(c)))
    });
    let memberships = emu.with_tenant(|t| t.link_count(rewind_emulator::LinkKind::Members));
    let rss_mib = proc_status_kib("VmRSS:") / 1024;
    let hwm_mib = proc_status_kib("VmHWM:") / 1024;
    println!("large preset: seeded and serving in {seed_s:.2} s");
    for (k, n) in counts {
        println!("  {n:>7} {k}");
    }
    println!("  {memberships:>7} group memberships (nested groups included)");
    println!("resident memory with the large tenant: {rss_mib} MiB (peak {hwm_mib} MiB)");

    let http = reqwest::Client::new();
    let token = rewind_emulator::testing::token_for(&http, &emu.info, Access::Read).await;
    for run in 1..=3 {
        let (users, pages, secs) = page_all_users(&http, &emu.info.graph_url, &token).await;
        #[expect(clippy::cast_precision_loss, reason = "a rate for people to read")]
        let rate = users as f64 / secs;
        println!(
            "paging run {run}: {users} users in {pages} pages at $top=999: {secs:.2} s, {rate:.0} users/s"
        );
    }
    let base = emu.info.graph_url.clone();
    let in_process = emu.with_tenant(|t| {
        let start = Instant::now();
        let (mut users, mut query) = (0, vec![("$top".to_string(), "999".to_string())]);
        loop {
            let req = rewind_emulator::GraphRequest {
                method: rewind_emulator::Method::Get,
                path: "/users".into(),
                query: query.clone(),
                headers: vec![("authorization".into(), format!("Bearer {token}"))],
                body: Vec::new(),
            };
            let rewind_emulator::Body::Json(page) = t.handle(&base, &req).body else {
                break;
            };
            users += page["value"].as_array().map_or(0, Vec::len);
            let Some(next) = page["@odata.nextLink"].as_str() else {
                break;
            };
            let skip = next.split("$skiptoken=").nth(1).unwrap_or_default().to_string();
            query = vec![("$top".to_string(), "999".to_string()), ("$skiptoken".to_string(), skip)];
        }
        (users, start.elapsed().as_secs_f64())
    });
    println!(
        "same paging in-process, without HTTP or JSON: {} users in {:.2} s",
        in_process.0, in_process.1
    );
    emu.shutdown().await.expect("shutdown");

    let mut seeds = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let tenant = rewind_emulator::seed_tenant(&Preset::Large.options(1));
        seeds.push(t.elapsed().as_secs_f64());
        drop(tenant);
    }
    seeds.sort_by(f64::total_cmp);
    println!(
        "seeding large alone, 3 runs: min {:.2} s, median {:.2} s, max {:.2} s",
        seeds[0], seeds[1], seeds[2]
    );
}
