//! Gateway overhead per query (planning, policy, audit write), measured in-process on a
//! workspace: `gateway_overhead WS [ITERATIONS]`. Writes one JSON document to stdout. Run it on
//! a copy of a workspace: every query is audited and its released cells recorded.
//!
//! Used by `evaluation/bench_gateway.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use engine::gateway::{Gateway, QueryRequest};

const QUERIES: &[(&str, &str)] = &[
    (
        "prevalence_by_district",
        "SELECT r.district, count(DISTINCT e.person_id) AS children, \
         sum(CASE WHEN e.lunch_fee_arrears > 0 THEN 1 ELSE 0 END) AS arrears \
         FROM extracts.education e JOIN extracts.registry r ON r.person_id = e.person_id GROUP BY r.district",
    ),
    (
        "records_per_person",
        "SELECT n, count(*) AS persons FROM (SELECT person_id, count(*) AS n FROM persons GROUP BY person_id) GROUP BY n",
    ),
    (
        "pairs_by_rule",
        "SELECT blocking_rule, count(*) AS pairs, avg(match_probability) AS p FROM pairs GROUP BY blocking_rule",
    ),
    (
        "welfare_by_district",
        "SELECT r.district, w.programme, count(DISTINCT w.person_id) AS persons \
         FROM extracts.welfare w JOIN extracts.registry r ON r.person_id = w.person_id GROUP BY r.district, w.programme",
    ),
    ("denied_select_star_pairs", "SELECT * FROM pairs"),
];

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1e3
}

fn main() {
    let mut args = std::env::args().skip(1);
    let ws = PathBuf::from(args.next().expect("usage: gateway_overhead WS [ITERATIONS]"));
    let iterations: usize = args.next().map_or(50, |s| s.parse().expect("ITERATIONS is a number"));
    let t = Instant::now();
    let gateway = Gateway::open(&ws).expect("open the workspace");
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut out = serde_json::Map::new();
    let mut all_overhead = Vec::new();
    for (name, sql) in QUERIES {
        let (mut overhead, mut run, mut total) = (Vec::new(), Vec::new(), Vec::new());
        let mut denied = false;
        for _ in 0..iterations {
            let t = Instant::now();
            let r = gateway.query(&QueryRequest { user: "officer", purpose: "child_outreach", sql, external: None });
            let wall = t.elapsed();
            total.push(wall);
            match r {
                Ok(r) => {
                    overhead.push(r.timings.overhead());
                    run.push(r.timings.run + r.timings.release);
                }
                Err(_) => {
                    denied = true;
                    overhead.push(wall);
                }
            }
        }
        all_overhead.extend(overhead.iter().copied());
        out.insert(
            (*name).into(),
            serde_json::json!({
                "denied": denied,
                "overhead_ms_p50": pct(&mut overhead, 0.5),
                "overhead_ms_p95": pct(&mut overhead, 0.95),
                "run_ms_p50": if run.is_empty() { 0.0 } else { pct(&mut run, 0.5) },
                "total_ms_p50": pct(&mut total, 0.5),
            }),
        );
    }
    let doc = serde_json::json!({
        "workspace": ws.display().to_string(),
        "iterations": iterations,
        "catalog_open_ms": open_ms,
        "overhead_ms_p50_all": pct(&mut all_overhead, 0.5),
        "overhead_ms_p95_all": pct(&mut all_overhead, 0.95),
        "queries": out,
    });
    println!("{}", serde_json::to_string_pretty(&doc).unwrap());
}
