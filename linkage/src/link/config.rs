//! The `[linkage]` section of `mimamori.toml`: blocking rules, limits and targets. Every
//! setting has a default that suits a municipality's extracts; a workspace without the section
//! (or without `mimamori.toml`) links with the defaults.

use serde::{Deserialize, Serialize};

/// Blocking rules used when `mimamori.toml` names none. A rule is a list of token columns that
/// must all be equal (and known) for two records to become a candidate pair; rules naming a
/// column no extract has are skipped. Together they catch a record with any one of: a wrong
/// birth date, a changed surname, a different reading, a different address, an unknown name;
/// the address rules also catch a wrong birth date together with a wrong given name.
/// `key_bf_name` (the name encoding's exact key) holds the same name, also with given and
/// family name swapped (FEBRL4: pair F1 0.9932 → 0.9940; the synthetic city unchanged).
/// Postcode and birth year catch a record whose name parts are both wrong where the birth date
/// is not whole (a census's ages: FEBRL4 as two censuses 0.9960–0.9967 → 0.9992–0.9993; FEBRL3
/// and FEBRL4 unchanged within a pair).
pub const DEFAULT_RULES: &[&[&str]] = &[
    &["tok_birth_date"],
    &["key_bf_name"],
    &["tok_family_kana_loose", "tok_given_kana_loose"],
    &["tok_given_kana_loose", "tok_birth_year"],
    &["tok_given", "tok_birth_year"],
    &["tok_address", "tok_sex"],
    &["tok_postcode", "tok_given"],
    &["tok_postcode", "tok_family"],
    &["tok_postcode", "tok_street"],
    &["tok_street", "tok_locality"],
    &["tok_postcode", "tok_birth_year"],
    &["tok_resident_id"],
];

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkConfig {
    /// Blocking rules, each a list of token columns (`tok_…`) that must agree.
    pub blocking: Vec<Vec<String>>,
    /// A rule that would produce more candidate pairs than this is refused before any
    /// comparison runs, with the sizes of its largest key groups.
    pub max_pairs_per_rule: u64,
    /// Departments in which no two records are the same person (e.g. the resident registry).
    /// When absent, a department counts as such when every record carries a resident number
    /// (宛名番号) and no number repeats.
    pub distinct_within: Option<Vec<String>>,
    /// Whether a pair's other candidates count as evidence when a department holds one record
    /// per person (see `distinct_within`): a record whose other candidates there look nothing
    /// like it is more likely to match this one, and a strong competitor lowers the pair.
    pub one_to_one: bool,
    /// Whether two records carrying different resident numbers may be one person. A resident
    /// number is issued once per person in a municipality, so by default they may not.
    pub resident_id_distinct: bool,
    /// Bands of the residual blocking (Hamming LSH on the Bloom encodings) run for records that
    /// the rules' pairs left without a partner; 0 turns it off. More bands find more typo-ridden
    /// pairs at a cost proportional to the residual records.
    pub lsh_bands: u32,
    /// Bloom encodings the residual blocking concatenates; those some department lacks are left out.
    pub lsh_fields: Vec<String>,
    /// Pairs each band may add per residual record; a band samples more bits until it fits.
    pub lsh_pairs_per_record: u64,
    /// Random record pairs used to estimate u (the chance that non-matching records agree).
    pub u_sample_pairs: u64,
    /// Seed of every random choice in linkage (u sample, review sample).
    pub seed: u64,
    /// Match probability above which pairs join one person. When absent it is chosen to
    /// maximise the model's own estimate of F1 (from its probabilities, without truth).
    pub threshold: Option<f64>,
    /// Pairs scored below this probability are counted in quality.json but not written to
    /// pairs.parquet.
    pub pairs_min_probability: f64,
    /// Borderline pairs written to review.parquet for clerical review.
    pub review_pairs: usize,
    /// EM stops after this many iterations or when no parameter moves more than 1e-6.
    pub em_max_iterations: u32,
    /// Memory DataFusion may use for blocking joins, in MiB.
    pub memory_limit_mib: u64,
    /// Comparison fields left out of the model (names as in model.json, e.g. "phone").
    pub exclude_fields: Vec<String>,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            blocking: DEFAULT_RULES.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect(),
            max_pairs_per_rule: 50_000_000,
            distinct_within: None,
            one_to_one: true,
            resident_id_distinct: true,
            lsh_bands: 20,
            lsh_fields: ["bf_name", "bf_kana", "bf_address"].iter().map(|f| f.to_string()).collect(),
            lsh_pairs_per_record: 1,
            u_sample_pairs: 4_000_000,
            seed: 20_261_125,
            threshold: None,
            pairs_min_probability: 0.01,
            review_pairs: 200,
            em_max_iterations: 200,
            memory_limit_mib: 2048,
            exclude_fields: Vec::new(),
        }
    }
}

impl LinkConfig {
    /// Whether the blocking rules are the defaults: then a rule that would explode on this data
    /// is left out (and reported) rather than refused, since no one chose it for this data.
    pub fn blocking_is_default(&self) -> bool {
        self.blocking.len() == DEFAULT_RULES.len()
            && self.blocking.iter().zip(DEFAULT_RULES).all(|(r, d)| r.iter().map(String::as_str).eq(d.iter().copied()))
    }

    /// Checks values a TOML type cannot: returns what is wrong, in words.
    pub fn validate(&self) -> Result<(), String> {
        if self.blocking.is_empty() {
            return Err("blocking needs at least one rule, e.g. [[\"tok_birth_date\"]]".into());
        }
        if self.blocking.len() > 200 {
            return Err(format!("blocking names {} rules; at most 200 are supported", self.blocking.len()));
        }
        for rule in &self.blocking {
            if rule.is_empty() {
                return Err("a blocking rule is empty; list the token columns that must agree".into());
            }
            for c in rule {
                if !(c.starts_with("tok_") || c.starts_with("key_bf_")) {
                    return Err(format!(
                        "blocking column `{c}` is not a token column; blocking uses tok_… columns or key_bf_… (a Bloom encoding's exact key), which must agree exactly"
                    ));
                }
            }
        }
        if let Some(f) = self.lsh_fields.iter().find(|f| !f.starts_with("bf_")) {
            return Err(format!("lsh_fields names `{f}`, which is not a Bloom encoding (bf_…)"));
        }
        if self.lsh_bands > 256 {
            return Err(format!("lsh_bands {} is more than 256; 20 bands find most typo-ridden pairs", self.lsh_bands));
        }
        if self.lsh_pairs_per_record == 0 {
            return Err(
                "lsh_pairs_per_record must be at least 1 (set lsh_bands = 0 to turn residual blocking off)".into()
            );
        }
        if let Some(t) = self.threshold
            && !(t > 0.0 && t < 1.0)
        {
            return Err(format!("threshold {t} must be a probability strictly between 0 and 1"));
        }
        if !(0.0..1.0).contains(&self.pairs_min_probability) {
            return Err("pairs_min_probability must be in [0, 1)".into());
        }
        if self.u_sample_pairs < 10_000 {
            return Err("u_sample_pairs below 10000 gives unreliable u estimates".into());
        }
        if self.memory_limit_mib < 64 {
            return Err("memory_limit_mib must be at least 64".into());
        }
        Ok(())
    }
}
