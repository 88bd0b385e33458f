//! The identifier columns of every extract of a workspace, in memory, indexed by a dense
//! record number (`rid`): departments in name order, rows in file order. Only pseudonyms are
//! read: tokens (kept as their first 8 bytes, enough for equality with a collision chance of
//! 2⁻⁶⁴ per pair) and Bloom encodings (as 64-bit words, for popcount Dice).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::{Array, FixedSizeBinaryArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::LinkError;
use crate::encode::TokenSalt;
use crate::pseudonymise::manifest::{MANIFEST_FORMAT, Manifest};
use crate::pseudonymise::{MANIFEST_FILE, RECORDS_FILE};

/// A token column: 0 is unknown (a token whose first 8 bytes are 0 is stored as 1).
pub type TokenColumn = Vec<u64>;

/// A Bloom-encoding column: `words` 64-bit words per record; an all-zero filter is unknown.
pub struct BloomColumn {
    pub words: usize,
    pub data: Vec<u64>,
    /// Set bits per record, counted once so that Dice per pair needs only |A∩B|.
    pub ones: Vec<u32>,
}

impl BloomColumn {
    /// A column from its words, counting each filter's bits.
    pub fn new(words: usize, data: Vec<u64>) -> BloomColumn {
        let ones = data.chunks_exact(words.max(1)).map(|f| f.iter().map(|w| w.count_ones()).sum()).collect();
        BloomColumn { words, data, ones }
    }

    /// The filter of `rid` and its set bits; None when empty (unknown).
    #[inline]
    pub fn get(&self, rid: u32) -> Option<(&[u64], u32)> {
        let ones = self.ones[rid as usize];
        if ones == 0 {
            return None;
        }
        Some((&self.data[rid as usize * self.words..(rid as usize + 1) * self.words], ones))
    }
}

pub struct Department {
    pub name: String,
    /// First rid of the department.
    pub start: u32,
    pub rows: u32,
}

/// One token column read from the row-major copy: a record's tokens sit together, so comparing
/// a pair touches a few cache lines instead of one per column.
#[derive(Clone, Copy)]
pub struct Col<'a> {
    data: &'a [u64],
    stride: usize,
    offset: usize,
}

impl Col<'_> {
    #[inline]
    pub fn get(&self, rid: usize) -> u64 {
        self.data[rid * self.stride + self.offset]
    }
}

pub struct Records {
    /// Token columns row by row (`rows[rid * stride + column]`), for comparisons.
    rows: Vec<u64>,
    row_index: BTreeMap<String, usize>,
    pub departments: Vec<Department>,
    /// Index into `departments`, per rid.
    pub department_of: Vec<u16>,
    pub record_ref: Vec<[u8; 16]>,
    pub tokens: BTreeMap<String, TokenColumn>,
    pub blooms: BTreeMap<String, BloomColumn>,
    /// Whether name-part tokens are bound to the birth year (the same in every
    /// extract).
    pub token_salt: TokenSalt,
}

impl Records {
    /// Records made only of Bloom columns, for tests of the steps that read nothing else.
    #[cfg(test)]
    pub(crate) fn from_blooms(departments: Vec<Department>, blooms: BTreeMap<String, BloomColumn>) -> Records {
        let mut department_of = Vec::new();
        for (i, d) in departments.iter().enumerate() {
            department_of.extend(std::iter::repeat_n(i as u16, d.rows as usize));
        }
        Records {
            rows: Vec::new(),
            row_index: BTreeMap::new(),
            record_ref: vec![[0; 16]; department_of.len()],
            departments,
            department_of,
            tokens: BTreeMap::new(),
            blooms,
            token_salt: TokenSalt::None,
        }
    }

    pub fn len(&self) -> usize {
        self.record_ref.len()
    }

    pub fn token(&self, name: &str) -> Option<&[u64]> {
        self.tokens.get(name).map(Vec::as_slice)
    }

    pub fn bloom(&self, name: &str) -> Option<&BloomColumn> {
        self.blooms.get(name)
    }

    /// Records of one department made only of token columns, for tests of comparisons.
    #[cfg(test)]
    pub(crate) fn from_tokens(tokens: BTreeMap<String, TokenColumn>, token_salt: TokenSalt) -> Records {
        let n = tokens.values().next().map_or(0, |c| c.len());
        let (rows, row_index) = row_major(&tokens, n);
        Records {
            rows,
            row_index,
            departments: vec![Department { name: "d".into(), start: 0, rows: n as u32 }],
            department_of: vec![0; n],
            record_ref: vec![[0; 16]; n],
            tokens,
            blooms: BTreeMap::new(),
            token_salt,
        }
    }

    /// A token column in the row-major copy.
    pub fn col(&self, name: &str) -> Option<Col<'_>> {
        let offset = *self.row_index.get(name)?;
        Some(Col { data: &self.rows, stride: self.row_index.len(), offset })
    }
}

/// The token columns of `n` records row by row (`rows[rid * stride + column]`), and each
/// column's index in a row.
fn row_major(tokens: &BTreeMap<String, TokenColumn>, n: usize) -> (Vec<u64>, BTreeMap<String, usize>) {
    let stride = tokens.len();
    let mut rows = vec![0u64; n * stride];
    for (c, col) in tokens.values().enumerate() {
        for (r, t) in col.iter().enumerate() {
            rows[r * stride + c] = *t;
        }
    }
    (rows, tokens.keys().enumerate().map(|(i, k)| (k.clone(), i)).collect())
}

fn token_u64(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_le_bytes(w).max(1)
}

fn manifest_err(path: &Path, message: impl Into<String>) -> LinkError {
    LinkError::Extract { path: path.to_path_buf(), message: message.into() }
}

/// Reads every `extracts/<department>/manifest.json` of the workspace and checks that they can
/// be linked together: same linkage key, same normaliser, same encodings.
pub fn manifests(workspace: &Path) -> Result<Vec<(PathBuf, Manifest)>, LinkError> {
    let dir = workspace.join("extracts");
    let entries =
        std::fs::read_dir(&dir).map_err(|e| LinkError::NoExtracts { dir: dir.clone(), message: e.to_string() })?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| LinkError::NoExtracts { dir: dir.clone(), message: e.to_string() })?;
        let path = entry.path();
        if !path.is_dir() || entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let mpath = path.join(MANIFEST_FILE);
        let text = match std::fs::read_to_string(&mpath) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(manifest_err(
                    &mpath,
                    "no manifest.json: the folder is not a pseudonymised extract (run `mimamori pseudonymise` into it, or remove it)",
                ));
            }
            Err(e) => return Err(manifest_err(&mpath, e.to_string())),
        };
        let m: Manifest = serde_json::from_str(&text)
            .map_err(|e| manifest_err(&mpath, format!("line {}, column {}: {e}", e.line(), e.column())))?;
        if m.format != MANIFEST_FORMAT {
            return Err(manifest_err(&mpath, format!("format `{}`, expected `{MANIFEST_FORMAT}`", m.format)));
        }
        let folder = entry.file_name().to_string_lossy().to_string();
        if m.department != folder {
            return Err(manifest_err(
                &mpath,
                format!("the manifest is for department `{}` but sits in folder `{folder}`", m.department),
            ));
        }
        found.push((path, m));
    }
    if found.is_empty() {
        return Err(LinkError::NoExtracts {
            dir,
            message: "no extract folders; each custodian runs `mimamori pseudonymise --out WS/extracts/<department>/`"
                .into(),
        });
    }
    found.sort_by(|a, b| a.1.department.cmp(&b.1.department));
    let (_, first) = &found[0];
    for (_, m) in &found[1..] {
        let mismatch = |what: &str| LinkError::Mismatch {
            what: what.to_string(),
            first: first.department.clone(),
            other: m.department.clone(),
        };
        if m.linkage_key_fingerprint != first.linkage_key_fingerprint {
            return Err(mismatch("linkage key fingerprint"));
        }
        if m.normaliser_version != first.normaliser_version {
            return Err(mismatch("normaliser version"));
        }
        if m.encoding.token_bytes != first.encoding.token_bytes || m.encoding.token_hash != first.encoding.token_hash {
            return Err(mismatch("token encoding"));
        }
        if m.encoding.token_salt != first.encoding.token_salt {
            return Err(mismatch(&format!(
                "token salt ({} vs {}; every custodian must pass the same --token-salt)",
                first.encoding.token_salt.name(),
                m.encoding.token_salt.name()
            )));
        }
        for spec in &m.encoding.bloom {
            if let Some(other) = first.encoding.bloom.iter().find(|s| s.field == spec.field)
                && other != spec
            {
                return Err(mismatch(&format!("Bloom encoding of `{}`", spec.field)));
            }
        }
    }
    Ok(found)
}

/// Loads the identifier columns of every extract.
pub fn load(found: Vec<(PathBuf, Manifest)>) -> Result<Records, LinkError> {
    let total: u64 = found.iter().map(|(_, m)| m.rows).sum();
    if total > u32::MAX as u64 / 2 {
        return Err(LinkError::TooLarge { records: total });
    }
    let total = total as usize;
    let token_salt = found.first().map_or(TokenSalt::None, |(_, m)| m.encoding.token_salt);
    let mut records = Records {
        rows: Vec::new(),
        row_index: BTreeMap::new(),
        departments: Vec::new(),
        department_of: Vec::with_capacity(total),
        record_ref: Vec::with_capacity(total),
        tokens: BTreeMap::new(),
        blooms: BTreeMap::new(),
        token_salt,
    };
    for (index, (dir, manifest)) in found.into_iter().enumerate() {
        let path = dir.join(RECORDS_FILE);
        let start = records.record_ref.len();
        let read_err = |e: &dyn std::fmt::Display| LinkError::Extract { path: path.clone(), message: e.to_string() };
        let file = File::open(&path).map_err(|e| read_err(&e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.with_batch_size(16_384).build())
            .map_err(|e| read_err(&e))?;
        for batch in reader {
            let batch = batch.map_err(|e| read_err(&e))?;
            let n = batch.num_rows();
            let base = records.record_ref.len();
            for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
                let name = field.name();
                let is_token = name.starts_with("tok_") || name == "record_ref";
                if !is_token && !name.starts_with("bf_") {
                    continue;
                }
                let Some(arr) = column.as_any().downcast_ref::<FixedSizeBinaryArray>() else {
                    return Err(read_err(&format!("column `{name}` is not fixed-size binary")));
                };
                let width = arr.value_length() as usize;
                if name == "record_ref" {
                    if width != 16 || arr.null_count() > 0 {
                        return Err(read_err(&"record_ref must be 16 bytes and never empty"));
                    }
                    records.record_ref.extend((0..n).map(|i| {
                        let mut r = [0u8; 16];
                        r.copy_from_slice(arr.value(i));
                        r
                    }));
                } else if is_token {
                    if width < 8 {
                        return Err(read_err(&format!("token column `{name}` holds {width} bytes, expected 16")));
                    }
                    let col = records.tokens.entry(name.clone()).or_insert_with(|| vec![0; total]);
                    for i in 0..n {
                        if arr.is_valid(i) {
                            col[base + i] = token_u64(arr.value(i));
                        }
                    }
                } else {
                    if width == 0 || !width.is_multiple_of(8) {
                        return Err(read_err(&format!("Bloom column `{name}` holds {width} bytes, not whole words")));
                    }
                    let words = width / 8;
                    let col = records.blooms.entry(name.clone()).or_insert_with(|| BloomColumn {
                        words,
                        data: vec![0; total * words],
                        ones: Vec::new(),
                    });
                    if col.words != words {
                        return Err(read_err(&format!("Bloom column `{name}` differs in width between extracts")));
                    }
                    for i in 0..n {
                        if arr.is_valid(i) {
                            let at = (base + i) * words;
                            for (w, chunk) in col.data[at..at + words].iter_mut().zip(arr.value(i).chunks_exact(8)) {
                                let mut b = [0u8; 8];
                                b.copy_from_slice(chunk);
                                *w = u64::from_le_bytes(b);
                            }
                        }
                    }
                }
            }
            if records.record_ref.len() != base + n {
                return Err(read_err(&"no record_ref column"));
            }
            records.department_of.extend(std::iter::repeat_n(index as u16, n));
        }
        let rows = records.record_ref.len() - start;
        if rows == 0 {
            return Err(LinkError::EmptyExtract { department: manifest.department.clone() });
        }
        if rows as u64 != manifest.rows {
            return Err(read_err(&format!("holds {rows} rows, its manifest says {}", manifest.rows)));
        }
        records.departments.push(Department { name: manifest.department, start: start as u32, rows: rows as u32 });
    }
    order_for_locality(&mut records);
    // an exact key per Bloom encoding (`key_<column>`): the encodings hash each name part's
    // q-grams into one set, so the key is equal for a swapped given and family name; a
    // blocking rule on it finds such pairs, which no token rule does
    let keys: Vec<(String, Vec<u64>)> = records
        .blooms
        .iter()
        .map(|(name, col)| {
            let key = col
                .data
                .chunks_exact(col.words.max(1))
                .map(|f| {
                    if f.iter().all(|w| *w == 0) {
                        0
                    } else {
                        f.iter().fold(0x6B65_795F_626Cu64, |h, w| splitmix(h ^ *w)).max(1)
                    }
                })
                .collect();
            (format!("key_{name}"), key)
        })
        .collect();
    records.tokens.extend(keys);
    (records.rows, records.row_index) = row_major(&records.tokens, total);
    for col in records.blooms.values_mut() {
        let data = std::mem::take(&mut col.data);
        *col = BloomColumn::new(col.words, data);
    }
    Ok(records)
}

/// Orders each department's records by birth-date token (stable: file order within one date).
/// Most candidate pairs share a birth date, so a date's records then sit together in every
/// department and comparing its pairs reads a few kilobytes that stay in cache, rather than
/// records scattered over the whole extract. Nothing outside depends on the order: outputs
/// name records by record_ref.
fn order_for_locality(records: &mut Records) {
    let Some(key) = records.tokens.get("tok_birth_date") else { return };
    let mut perm: Vec<u32> = Vec::with_capacity(records.record_ref.len());
    for d in &records.departments {
        let mut rids: Vec<u32> = (d.start..d.start + d.rows).collect();
        rids.sort_by_key(|r| key[*r as usize]);
        perm.extend(rids);
    }
    let gather = |v: &Vec<u64>| -> Vec<u64> { perm.iter().map(|r| v[*r as usize]).collect() };
    for col in records.tokens.values_mut() {
        *col = gather(col);
    }
    records.record_ref = perm.iter().map(|r| records.record_ref[*r as usize]).collect();
    for col in records.blooms.values_mut() {
        let w = col.words;
        let mut data = Vec::with_capacity(col.data.len());
        for r in &perm {
            data.extend_from_slice(&col.data[*r as usize * w..(*r as usize + 1) * w]);
        }
        col.data = data;
        // bit counts move with their filters (while reading, they are counted after ordering)
        if !col.ones.is_empty() {
            col.ones = perm.iter().map(|r| col.ones[*r as usize]).collect();
        }
    }
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_for_locality_moves_each_record_whole_and_keeps_departments_apart() {
        // two departments; record i has birth date token dates[i], another token 100 + i,
        // a filter whose words are all i, and record_ref [i; 16]
        let dates: Vec<u64> = vec![5, 3, 0, 3, 9, 2, 2, 7];
        let n = dates.len();
        let mut blooms = BTreeMap::new();
        blooms.insert("bf_name".to_string(), BloomColumn::new(2, (0..n as u64).flat_map(|i| [i, i]).collect()));
        let mut records = Records::from_blooms(
            vec![
                Department { name: "a".into(), start: 0, rows: 5 },
                Department { name: "b".into(), start: 5, rows: 3 },
            ],
            blooms,
        );
        records.record_ref = (0..n).map(|i| [i as u8; 16]).collect();
        records.tokens.insert("tok_birth_date".into(), dates.clone());
        records.tokens.insert("tok_other".into(), (0..n as u64).map(|i| 100 + i).collect());
        order_for_locality(&mut records);

        let original: Vec<usize> = records.record_ref.iter().map(|r| r[0] as usize).collect();
        // each department's records stay in its range, ordered by date, file order within a date
        assert_eq!(original, vec![2, 1, 3, 0, 4, 5, 6, 7]);
        for (rid, &o) in original.iter().enumerate() {
            assert_eq!(records.tokens["tok_birth_date"][rid], dates[o]);
            assert_eq!(records.tokens["tok_other"][rid], 100 + o as u64);
            assert_eq!(records.blooms["bf_name"].data[rid * 2..rid * 2 + 2], [o as u64, o as u64]);
            assert_eq!(records.blooms["bf_name"].ones[rid], 2 * (o as u64).count_ones());
        }
    }
}
