//! What Bloom-filter hardening costs in linkage quality, measured on the synthetic municipality.
//!
//! For each hardening (none, balance, xor_fold) every department is pseudonymised with the same
//! keys; then, for each Bloom field, the Dice similarity of true pairs (the registry record and a
//! department record of the same person) is compared with that of hard non-pairs (another
//! member of the same household: same surname and address) and random non-pairs. The AUC is the
//! probability that a true pair scores above a non-pair: 1.0 separates perfectly.
//!
//! `cargo run --release -p engine --example bloom_hardening -- [HOUSEHOLDS]`

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use arrow_array::{Array, FixedSizeBinaryArray};
use linkage::compare::dice::dice_bytes;
use linkage::encode::{Hardening, KEY_BYTES, LinkageKey, VaultKey};
use linkage::mapping::Mapping;
use linkage::pseudonymise::{self, Options};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use zeroize::Zeroizing;

const FIELDS: [&str; 3] = ["bf_name", "bf_kana", "bf_address"];
const DEPARTMENTS: [&str; 5] = ["welfare", "health", "education", "nursery", "consultation"];

type Filters = HashMap<String, Vec<Option<Vec<u8>>>>;

/// record_id → filters of each field, for one department.
fn pseudonymise_dept(
    city: &Path,
    out: &Path,
    dept: &str,
    hardening: Hardening,
) -> anyhow::Result<HashMap<String, Vec<Option<Vec<u8>>>>> {
    let mapping = Mapping::load(&city.join(dept).join(format!("{dept}.toml")))?;
    let key = LinkageKey::from_bytes(Zeroizing::new([7; KEY_BYTES]));
    let vault_key = VaultKey::from_bytes(Zeroizing::new([9; KEY_BYTES]));
    let dir = out.join(dept);
    fs::create_dir_all(&dir)?;
    let mut refs: HashMap<[u8; 16], String> = HashMap::new();
    pseudonymise::run(
        &mapping,
        &key,
        &vault_key,
        &dir,
        &Options { hardening, ..Options::default() },
        &mut |_, _| {},
        &mut |r, id| {
            refs.insert(*r, id.to_string());
            Ok(())
        },
    )?;
    let file = fs::File::open(dir.join(pseudonymise::RECORDS_FILE))?;
    let mut out: Filters = HashMap::new();
    for batch in ParquetRecordBatchReaderBuilder::try_new(file)?.build()? {
        let batch = batch?;
        let col = |name: &str| {
            batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref::<FixedSizeBinaryArray>().cloned())
        };
        let record_refs = col("record_ref").ok_or_else(|| anyhow::anyhow!("no record_ref"))?;
        let cols: Vec<Option<FixedSizeBinaryArray>> = FIELDS.iter().map(|f| col(f)).collect();
        for i in 0..batch.num_rows() {
            let mut r = [0u8; 16];
            r.copy_from_slice(record_refs.value(i));
            let values =
                cols.iter().map(|c| c.as_ref().and_then(|c| (!c.is_null(i)).then(|| c.value(i).to_vec()))).collect();
            out.insert(refs[&r].clone(), values);
        }
    }
    Ok(out)
}

/// Probability that a random true-pair score exceeds a random non-pair score (ties count half).
fn auc(pos: &[f64], neg: &[f64]) -> f64 {
    let mut all: Vec<(f64, bool)> = pos.iter().map(|&s| (s, true)).chain(neg.iter().map(|&s| (s, false))).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg_rank = (i + j + 1) as f64 / 2.0;
        rank_sum += avg_rank * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let (p, n) = (pos.len() as f64, neg.len() as f64);
    (rank_sum - p * (p + 1.0) / 2.0) / (p * n)
}

fn main() -> anyhow::Result<()> {
    let households: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(3000);
    let tmp = tempfile::tempdir()?;
    let city = tmp.path().join("city");
    let config = synthetic_data::SynthConfig { households, ..Default::default() };
    synthetic_data::generate(&config, &city, &mut |_| {})?;
    let mut person: HashMap<(String, String), (u64, u64)> = HashMap::new();
    let mut r = csv::Reader::from_path(city.join("truth/truth.csv"))?;
    for rec in r.records() {
        let rec = rec?;
        person.insert((rec[0].to_string(), rec[1].to_string()), (rec[2].parse()?, rec[3].parse()?));
    }
    println!("Bloom hardening and linkage quality: {households} households, Dice of registry vs department records");
    println!();
    println!(
        "| hardening | field | Dice true pairs | Dice same-household non-pairs | Dice random non-pairs | AUC vs household | AUC vs random |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for hardening in [Hardening::None, Hardening::Balance, Hardening::XorFold] {
        let out = tmp.path().join(hardening.as_str());
        let registry = pseudonymise_dept(&city, &out, "registry", hardening)?;
        let mut reg_of_person: HashMap<u64, &str> = HashMap::new();
        let mut reg_of_household: HashMap<u64, Vec<(&str, u64)>> = HashMap::new();
        for id in registry.keys() {
            let (p, h) = person[&("registry".to_string(), id.clone())];
            reg_of_person.insert(p, id);
            reg_of_household.entry(h).or_default().push((id, p));
        }
        let reg_ids: Vec<&String> = {
            let mut v: Vec<&String> = registry.keys().collect();
            v.sort();
            v
        };
        let mut scores: Vec<[Vec<f64>; 3]> = vec![Default::default(), Default::default(), Default::default()];
        let mut k = 0usize;
        for dept in DEPARTMENTS {
            let records = pseudonymise_dept(&city, &out, dept, hardening)?;
            let mut ids: Vec<&String> = records.keys().collect();
            ids.sort();
            for id in ids {
                let (p, h) = person[&(dept.to_string(), id.clone())];
                let Some(reg_id) = reg_of_person.get(&p) else { continue };
                let sibling = reg_of_household.get(&h).and_then(|m| m.iter().find(|(_, q)| *q != p)).map(|(r, _)| *r);
                k += 1;
                let mut random = reg_ids[(k * 7919 + 13) % reg_ids.len()].as_str();
                if random == *reg_id {
                    random = reg_ids[(k * 7919 + 14) % reg_ids.len()].as_str();
                }
                for (f, s) in scores.iter_mut().enumerate() {
                    let Some(a) = &records[id][f] else { continue };
                    let score = |other: &str| registry[other][f].as_ref().map(|b| f64::from(dice_bytes(a, b)));
                    if let Some(t) = score(reg_id) {
                        s[0].push(t);
                    }
                    if let Some(sib) = sibling.and_then(score) {
                        s[1].push(sib);
                    }
                    if let Some(r) = score(random) {
                        s[2].push(r);
                    }
                }
            }
        }
        for (f, s) in scores.iter().enumerate() {
            let mean = |v: &Vec<f64>| v.iter().sum::<f64>() / v.len().max(1) as f64;
            println!(
                "| {} | {} | {:.3} | {:.3} | {:.3} | {:.4} | {:.4} |",
                hardening.as_str(),
                FIELDS[f],
                mean(&s[0]),
                mean(&s[1]),
                mean(&s[2]),
                auc(&s[0], &s[1]),
                auc(&s[0], &s[2])
            );
        }
    }
    Ok(())
}
