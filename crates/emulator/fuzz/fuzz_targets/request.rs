//! Fuzzes request parsing and dispatch: arbitrary method, path, query and body bytes, sent with
//! a valid write token so that every handler's input parsing is reachable. Any panic is a bug;
//! so is a 5xx status, which the emulator only sends when told to.
//!
//! Run: `cd crates/emulator/fuzz && cargo fuzz run request` (see docs/design/emulator.md).

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rewind_emulator::{Access, GraphRequest, Method, SeedOptions, Tenant};

fn token() -> &'static (Tenant, String) {
    static T: OnceLock<(Tenant, String)> = OnceLock::new();
    T.get_or_init(|| {
        let t = rewind_emulator::seed_tenant(&SeedOptions { seed: 11, users: 5, ..SeedOptions::default() });
        let token = t.access_token(Access::Write).unwrap();
        (t, token)
    })
}

fuzz_target!(|data: &[u8]| {
    let (base, token) = token();
    let mut tenant = base.clone();
    let mut parts = data.splitn(4, |b| *b == 0);
    let method = match parts.next().and_then(|m| m.first()).map(|b| b % 5) {
        Some(0) => Method::Get,
        Some(1) => Method::Post,
        Some(2) => Method::Patch,
        Some(3) => Method::Put,
        _ => Method::Delete,
    };
    let path = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let query = form_pairs(parts.next().unwrap_or_default());
    let body = parts.next().unwrap_or_default().to_vec();
    let req = GraphRequest {
        method,
        path,
        query,
        headers: vec![("authorization".into(), format!("Bearer {token}"))],
        body,
    };
    let resp = tenant.handle("http://127.0.0.1:1", &req);
    assert!(resp.status < 500, "status {} for {req:?}", resp.status);
});

fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(bytes)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
