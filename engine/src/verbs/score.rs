//! `mimamori score`: indicators (SQL) → features → calibrated model → household scores, and
//! the evaluation of the model beside the rule-based scorecard on out-of-fold outcomes.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use risk_model::evaluate::{self, AtK, CalibrationBin};
use risk_model::fairness::{self, Audited, GroupRow};
use risk_model::features::{Features, IndicatorStatus};
use risk_model::indicator::{self, Indicator, Use};
use risk_model::model::{self, Design, Model};
use risk_model::outreach::{self, HouseholdScore, Ranking};
use serde::Serialize;
use serde_json::json;

use crate::catalog::WorkspaceCatalog;
use crate::cli::OutputFormat;
use crate::config::Config;
use crate::gate;
use crate::risk::{self, LabelSources, StoredHousehold, StoredScores};
use crate::staging::write_atomically;

/// Share of children a list holds in the pilots the issue cites (18.6% flagged in one city).
pub const PILOT_SHARE: f64 = 0.18;
const FOLDS: usize = 5;

/// One ranking's figures.
#[derive(Clone, Debug, Serialize)]
pub struct RankingFigures {
    pub auc: Option<f64>,
    /// Children: the top 18% of labelled children.
    pub at_pilot_share: AtK,
    /// Households: the lists cut to each district's caseworker capacity.
    pub at_capacity: AtK,
}

#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    pub as_of: String,
    pub children_scored: usize,
    pub households_scored: usize,
    pub known_case_households: usize,
    pub excluded_households: usize,
    pub labels: LabelSources,
    /// Children evaluated: labelled, outside known cases, scored by a model that did not see
    /// their household.
    pub children_evaluated: usize,
    pub households_evaluated: usize,
    pub base_rate_children: Option<f64>,
    pub model: RankingFigures,
    pub scorecard: RankingFigures,
    /// model precision at capacity ÷ scorecard precision at capacity (goal ≥ 2).
    pub precision_ratio_at_capacity: Option<f64>,
    pub calibration: Vec<CalibrationBin>,
    pub expected_calibration_error: f64,
    /// Households: P(a child needs support), Platt-calibrated on the households' out-of-fold
    /// values (siblings share flags, so the product of the children's chances overstates it).
    pub household_calibration: Vec<CalibrationBin>,
    pub household_expected_calibration_error: f64,
    pub household_platt: (f64, f64),
    pub brier: f64,
    pub brier_base_rate: f64,
    /// Fairness of the capacity lists (model ranking, out-of-fold).
    pub fairness: Vec<GroupRow>,
    pub disparities: Vec<String>,
    pub unavailable_indicators: Vec<(String, String)>,
    pub pilot_reference: &'static str,
}

#[derive(Serialize)]
struct ModelFile<'a> {
    format: &'static str,
    as_of: String,
    created: String,
    model: &'a Model,
    /// Calibrated log-odds of a child with no flag, and each indicator's contribution.
    base_log_odds: f64,
    contributions: BTreeMap<&'a str, f64>,
    indicators: &'a [IndicatorStatus],
}

pub struct Args<'a> {
    pub workspace: &'a Path,
    pub user: &'a str,
    pub purpose: &'a str,
    pub as_of: Option<NaiveDate>,
    pub format: OutputFormat,
}

pub fn run(args: &Args) -> Result<()> {
    let text = match (score(args.workspace, args.user, args.purpose, args.as_of)?, args.format) {
        (Scored::Model(e, _), OutputFormat::Json) => format!("{}\n", serde_json::to_string_pretty(&e)?),
        (Scored::Model(e, _), _) => describe(&e),
        (Scored::Scorecard(s), OutputFormat::Json) => format!("{}\n", serde_json::to_string_pretty(&s)?),
        (Scored::Scorecard(s), _) => {
            let mut t = format!(
                "scored {} children in {} households (as of {}) by the rule-based scorecard: {}\n",
                s.children_scored, s.households_scored, s.as_of, s.why
            );
            for (name, why) in &s.unavailable_indicators {
                t.push_str(&format!("  not available: {name} ({why})\n"));
            }
            t.push_str("lists will rank households by their number of indicator flags ([outreach] min_points); the model is fitted once enough outcomes are recorded\n");
            t
        }
    };
    crate::print_stdout(&text)?;
    Ok(())
}

fn pct(s: &evaluate::Share) -> String {
    match (s.value, s.ci95) {
        (Some(v), Some((lo, hi))) => {
            format!("{:.1}% [{:.1}–{:.1}] ({}/{})", v * 100.0, lo * 100.0, hi * 100.0, s.k, s.n)
        }
        _ => "–".into(),
    }
}

fn describe(e: &Evaluation) -> String {
    let mut t = String::new();
    use std::fmt::Write;
    let _ = writeln!(
        t,
        "scored {} children in {} households (as of {}); {} known-case households marked, {} moved-out households left out",
        e.children_scored, e.households_scored, e.as_of, e.known_case_households, e.excluded_households
    );
    for (name, why) in &e.unavailable_indicators {
        let _ = writeln!(t, "  not available: {name} ({why})");
    }
    let _ = writeln!(
        t,
        "labels: {} children ({} from labels.parquet, {} from recorded outcomes), {} needing support",
        e.labels.positives + e.labels.negatives,
        e.labels.labels_file,
        e.labels.recorded_outcomes,
        e.labels.positives
    );
    let _ = writeln!(
        t,
        "\nout-of-fold evaluation on {} children, {} households:",
        e.children_evaluated, e.households_evaluated
    );
    let _ = writeln!(t, "                       model                         scorecard");
    let auc = |a: Option<f64>| a.map_or("–".into(), |v| format!("{v:.3}"));
    let _ = writeln!(t, "  AUC                  {:<30}{}", auc(e.model.auc), auc(e.scorecard.auc));
    let _ = writeln!(
        t,
        "  precision, top 18%   {:<30}{}",
        pct(&e.model.at_pilot_share.precision),
        pct(&e.scorecard.at_pilot_share.precision)
    );
    let _ = writeln!(
        t,
        "  recall, top 18%      {:<30}{}",
        pct(&e.model.at_pilot_share.recall),
        pct(&e.scorecard.at_pilot_share.recall)
    );
    let _ = writeln!(
        t,
        "  precision, capacity  {:<30}{}",
        pct(&e.model.at_capacity.precision),
        pct(&e.scorecard.at_capacity.precision)
    );
    if let Some(r) = e.precision_ratio_at_capacity {
        let _ = writeln!(t, "  model ÷ scorecard precision at capacity: {r:.2}×");
    }
    let _ = writeln!(
        t,
        "  calibration: expected error {:.3}; Brier {:.4} (base rate alone {:.4})",
        e.expected_calibration_error, e.brier, e.brier_base_rate
    );
    let _ = writeln!(
        t,
        "  households: calibration expected error {:.3} (household probability Platt a={:.2}, b={:.2})",
        e.household_expected_calibration_error, e.household_platt.0, e.household_platt.1
    );
    let _ = writeln!(t, "  pilots: {}", e.pilot_reference);
    if e.labels.labels_file == 0 && e.labels.recorded_outcomes > 0 {
        let _ = writeln!(
            t,
            "note: every label comes from households listed before; needs outside earlier lists are unseen, so recall, false-negative rates and the fairness gate describe those households only"
        );
    }
    if e.disparities.is_empty() {
        let _ = writeln!(t, "fairness: no disparity beyond the configured bound");
    } else {
        let _ = writeln!(t, "fairness disparities (a list with one needs a reviewer override):");
        for d in &e.disparities {
            let _ = writeln!(t, "  {d}");
        }
    }
    t
}

/// Department → columns of its extract, from the manifests.
fn available(workspace: &Path) -> Result<risk_model::features::Available> {
    let mut out = BTreeMap::new();
    for (_, m) in linkage::link::manifests(workspace)? {
        out.insert(m.department.clone(), m.columns.iter().map(|c| c.name.clone()).collect());
    }
    Ok(out)
}

fn supports(workspace: &Path, indicators: &[Indicator]) -> Result<Vec<risk_model::supports::Support>> {
    let known = indicators.iter().map(|i| i.name.clone()).collect();
    let path = risk::dir(workspace).join("supports.toml");
    Ok(if path.is_file() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        risk_model::supports::parse(&path.display().to_string(), &text, &known)?
    } else {
        risk_model::supports::parse("risk-model/supports.toml", risk_model::supports::DEFAULT, &known)?
    })
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    (p / (1.0 - p)).ln()
}

fn scorecard(workspace: &Path, indicators: &[Indicator]) -> Result<risk_model::scorecard::Scorecard> {
    use risk_model::scorecard::{DEFAULT, Scorecard};
    let known = indicators.iter().filter(|i| i.has(Use::Feature)).map(|i| i.name.clone()).collect();
    let path = risk::dir(workspace).join("scorecard.toml");
    Ok(if path.is_file() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        Scorecard::parse(&path.display().to_string(), &text, &known)?
    } else {
        Scorecard::parse("risk-model/scorecard.toml", DEFAULT, &known)?
    })
}

fn household_label(rows: &[usize], labels: &[Option<bool>]) -> Option<bool> {
    let ls: Vec<bool> = rows.iter().filter_map(|&i| labels[i]).collect();
    if ls.is_empty() { None } else { Some(ls.iter().any(|l| *l)) }
}

/// Scores the workspace; writes everything under `<ws>/risk/`.
pub fn score(workspace: &Path, user: &str, purpose: &str, as_of: Option<NaiveDate>) -> Result<Scored> {
    let config = Config::load_workspace(workspace)?;
    gate::workspace_action(workspace, &config, user, purpose, "score", "risk")?;
    let result = score_allowed(workspace, user, purpose, as_of, &config);
    gate::log_failure(workspace, user, purpose, "score", "risk", result)
}

fn score_allowed(
    workspace: &Path,
    user: &str,
    purpose: &str,
    as_of: Option<NaiveDate>,
    config: &Config,
) -> Result<Scored> {
    let persons = workspace.join("linked").join(linkage::link::PERSONS_FILE);
    if !persons.is_file() {
        bail!("{} does not exist; run `mimamori link --workspace {}` first", persons.display(), workspace.display());
    }
    let as_of = as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let runtime = crate::catalog::query_runtime()?;
    let catalog = runtime.block_on(WorkspaceCatalog::open(workspace))?;
    let risk_dir = risk::dir(workspace);
    let indicators = indicator::load(&risk_dir.join("indicators"))?;
    let avail = available(workspace)?;
    let mut f = runtime.block_on(risk_model::features::compute(&catalog.ctx, &indicators, &avail, as_of))?;
    scorecard(workspace, &indicators)?.apply(&mut f);
    let f = f;
    if f.children.is_empty() {
        bail!("no child to score: the population queries found no linked child");
    }
    let (labels, label_sources, linkage_digest) = risk::load_labels(workspace, &f.children)?;
    let seed = config.outreach.seed;
    let household: Vec<u64> = f.children.iter().map(|c| c.household_id).collect();
    let reasons: BTreeMap<String, String> = f
        .names
        .iter()
        .filter_map(|n| risk_model::features::reason_of(n, &indicators).map(|r| (n.clone(), r)))
        .collect();
    let sup = supports(workspace, &indicators)?;
    let capacity: BTreeMap<String, usize> =
        config.districts.iter().map(|d| (d.name.clone(), d.caseworker_capacity as usize)).collect();
    let groups: BTreeMap<String, (String, HashSet<u64>)> = indicators
        .iter()
        .filter(|i| i.has(Use::Group))
        .filter_map(|i| {
            f.groups.get(&i.name).map(|s| (i.name.clone(), (i.group.clone().unwrap_or_default(), s.clone())))
        })
        .collect();
    let unavailable: Vec<(String, String)> =
        f.unavailable().iter().map(|s| (s.name.clone(), s.missing.clone().unwrap_or_default())).collect();
    let design = Design { x: &f.flags, p: f.names.len() };
    let ctx = Prepared {
        workspace,
        user,
        purpose,
        as_of,
        f: &f,
        reasons: &reasons,
        supports: &sup,
        groups: &groups,
        linkage_digest,
    };
    let fit = match model::cross_fit(&f.names, &design, &labels, &household, FOLDS, seed) {
        Ok(fit) => fit,
        Err(e) => {
            return scorecard_only(&ctx, label_sources, unavailable, &e.to_string(), seed).map(Scored::Scorecard);
        }
    };
    let m = &fit.model;
    let p_final: Vec<f64> = (0..f.children.len()).map(|i| m.probability(f.row(i))).collect();

    // ---- evaluation on out-of-fold probabilities, known cases left out
    let by_household = f.households();
    let eval_rows: Vec<usize> =
        (0..f.children.len()).filter(|&i| labels[i].is_some() && !f.known.contains(&household[i])).collect();
    let y: Vec<bool> = eval_rows.iter().map(|&i| labels[i] == Some(true)).collect();
    let p_oof: Vec<f64> = eval_rows.iter().map(|&i| fit.out_of_fold[i].unwrap_or(p_final[i])).collect();
    let points: Vec<f64> = eval_rows.iter().map(|&i| f64::from(f.points(i))).collect();
    let ties: Vec<u64> = eval_rows.iter().map(|&i| outreach::tiebreak(f.children[i].person_id, seed)).collect();
    let k = (PILOT_SHARE * eval_rows.len() as f64).round() as usize;
    let model_order = evaluate::rank(&p_oof, &ties);
    let card_order = evaluate::rank(&points, &ties);

    // households: out-of-fold scores (a household's children share one fold)
    let p_hh: Vec<f64> = (0..f.children.len()).map(|i| fit.out_of_fold[i].unwrap_or(p_final[i])).collect();
    let mut oof_scores = outreach::score_households(&f, m, Some(&p_hh), &reasons, &sup, seed);
    // siblings share their household's flags, so 1 − Π(1 − p) overstates a household's chance:
    // Platt-calibrate it on the labelled households' out-of-fold values
    let hh_label = |h: u64| by_household.get(&h).and_then(|rows| household_label(rows, &labels));
    let (zs, ys): (Vec<f64>, Vec<bool>) = oof_scores
        .iter()
        .filter(|h| !h.known_case)
        .filter_map(|h| Some((logit(h.probability?), hh_label(h.household_id)?)))
        .unzip();
    let household_platt = model::fit_platt(&zs, &ys);
    let calibrate = |hs: &mut [HouseholdScore]| {
        for h in hs {
            h.probability = h.probability.map(|p| model::sigmoid(household_platt.0 * logit(p) + household_platt.1));
        }
    };
    calibrate(&mut oof_scores);
    let labelled: Vec<HouseholdScore> = oof_scores
        .iter()
        .filter(|h| by_household.get(&h.household_id).is_some_and(|rows| rows.iter().any(|&i| labels[i].is_some())))
        .cloned()
        .collect();
    let at_capacity = |by: Ranking| -> (AtK, HashSet<u64>) {
        let lists = outreach::select(&labelled, &capacity, 0.0, 1, by);
        let selected: HashSet<u64> = lists.values().flat_map(|l| l.listed.iter().map(|h| h.household_id)).collect();
        let evaluable: Vec<&HouseholdScore> =
            labelled.iter().filter(|h| !h.known_case && h.district.is_some()).collect();
        let ys: Vec<bool> = evaluable.iter().map(|h| hh_label(h.household_id) == Some(true)).collect();
        let order: Vec<usize> =
            (0..evaluable.len()).filter(|&i| selected.contains(&evaluable[i].household_id)).collect();
        (evaluate::at_k(&order, &ys, order.len()), selected)
    };
    let (model_cap, model_selected) = at_capacity(Ranking::Model);
    let (card_cap, _) = at_capacity(Ranking::Scorecard);
    let audited: Vec<Audited> = labelled
        .iter()
        .filter(|h| !h.known_case)
        .map(|h| Audited {
            household_id: h.household_id,
            district: h.district.as_deref(),
            selected: model_selected.contains(&h.household_id),
            label: hh_label(h.household_id),
        })
        .collect();
    let fairness_rows = fairness::table(&audited, &groups);
    let disparities = fairness::disparities(&fairness_rows, config.outreach.max_disparity, 30);
    let bins = evaluate::calibration(&p_oof, &y, 10);
    let oof_p: std::collections::HashMap<u64, f64> =
        oof_scores.iter().filter_map(|h| Some((h.household_id, h.probability?))).collect();
    let (hp, hy): (Vec<f64>, Vec<bool>) =
        audited.iter().filter_map(|a| Some((*oof_p.get(&a.household_id)?, a.label?))).unzip();
    let household_bins = evaluate::calibration(&hp, &hy, 10);
    let base_rate = if y.is_empty() { None } else { Some(y.iter().filter(|v| **v).count() as f64 / y.len() as f64) };
    let model_cap_precision = model_cap.precision.value;
    let card_cap_precision = card_cap.precision.value;
    let evaluation = Evaluation {
        as_of: as_of.to_string(),
        children_scored: f.children.len(),
        households_scored: by_household.len(),
        known_case_households: by_household.keys().filter(|h| f.known.contains(h)).count(),
        excluded_households: f.excluded_households,
        labels: label_sources,
        children_evaluated: eval_rows.len(),
        households_evaluated: audited.len(),
        base_rate_children: base_rate,
        model: RankingFigures {
            auc: evaluate::auc(&p_oof, &y),
            at_pilot_share: evaluate::at_k(&model_order, &y, k),
            at_capacity: model_cap,
        },
        scorecard: RankingFigures {
            auc: evaluate::auc(&points, &y),
            at_pilot_share: evaluate::at_k(&card_order, &y, k),
            at_capacity: card_cap,
        },
        precision_ratio_at_capacity: match (model_cap_precision, card_cap_precision) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        },
        expected_calibration_error: evaluate::expected_calibration_error(&bins),
        calibration: bins,
        household_expected_calibration_error: evaluate::expected_calibration_error(&household_bins),
        household_calibration: household_bins,
        household_platt,
        brier: evaluate::brier(&p_oof, &y),
        brier_base_rate: base_rate.map_or(0.0, |b| evaluate::brier(&vec![b; y.len()], &y)),
        fairness: fairness_rows,
        disparities,
        unavailable_indicators: unavailable.clone(),
        pilot_reference: "one city's rule-based screening flags ~17% of children; another's AI flagged 18.6% of 1,500 and humans confirmed 17.6% of those",
    };

    // ---- the scoring's outputs, with the final model
    let mut final_scores = outreach::score_households(&f, m, Some(&p_final), &reasons, &sup, seed);
    calibrate(&mut final_scores);
    let model_json = ModelFile {
        format: "mimamori-risk-model-v1",
        as_of: as_of.to_string(),
        created: risk::now(),
        model: m,
        base_log_odds: m.base(),
        contributions: f.names.iter().enumerate().map(|(j, n)| (n.as_str(), m.contribution(j))).collect(),
        indicators: &f.status,
    };
    let model_text = serde_json::to_string_pretty(&model_json)?;
    let model_digest = blake3::hash(model_text.as_bytes()).to_hex().to_string();
    write_scoring(
        &ctx,
        "model",
        &model_digest,
        unavailable.clone(),
        final_scores,
        hh_label,
        Some(&p_final),
        &fit.fold,
    )?;
    write_atomically(&risk_dir.join(risk::MODEL_FILE), model_text.as_bytes())?;
    write_atomically(&risk_dir.join(risk::EVALUATION_FILE), serde_json::to_string_pretty(&evaluation)?.as_bytes())?;
    let labels: BTreeMap<String, String> = f
        .names
        .iter()
        .map(|n| {
            let base = n.strip_prefix("sibling_").unwrap_or(n);
            let label = indicators.iter().find(|i| i.name == base).map_or_else(|| n.clone(), |i| i.label.clone());
            (n.clone(), if base == n { label } else { format!("きょうだい: {label}") })
        })
        .collect();
    let report = super::risk_report::render(&config.municipality_name, &evaluation, m, &labels);
    let sections = super::risk_report::sections(&evaluation, m, &labels);
    write_atomically(&risk_dir.join("report.html"), report.as_bytes())?;

    gate::record(
        workspace,
        user,
        purpose,
        "score",
        "risk",
        json!({
            "as_of": as_of.to_string(),
            "indicators": f.status.iter().map(|s| json!({"name": s.name, "available": s.available, "digest": s.digest})).collect::<Vec<_>>(),
            "children": f.children.len(),
            "labelled": evaluation.labels.positives + evaluation.labels.negatives,
            "lambda": m.lambda,
            "model_digest": model_digest,
            "auc": evaluation.model.auc,
        }),
    )?;
    Ok(Scored::Model(Box::new(evaluation), sections))
}

/// What `score` did: fitted the model, or ranked by the scorecard for want of labels.
pub enum Scored {
    /// The evaluation and the risk report's sections (for the demo report).
    Model(Box<Evaluation>, String),
    Scorecard(ScorecardOnly),
}

/// A scoring without a model: too few labelled outcomes to fit and calibrate one, so households
/// are ranked by the rule-based scorecard until caseworkers' recorded outcomes accumulate.
#[derive(Clone, Debug, Serialize)]
pub struct ScorecardOnly {
    pub ranking: &'static str,
    pub why: String,
    pub as_of: String,
    pub children_scored: usize,
    pub households_scored: usize,
    pub known_case_households: usize,
    pub excluded_households: usize,
    pub labels: LabelSources,
    pub unavailable_indicators: Vec<(String, String)>,
}

struct Prepared<'a> {
    workspace: &'a Path,
    user: &'a str,
    purpose: &'a str,
    as_of: NaiveDate,
    f: &'a Features,
    reasons: &'a BTreeMap<String, String>,
    supports: &'a [risk_model::supports::Support],
    groups: &'a BTreeMap<String, (String, HashSet<u64>)>,
    /// The linkage scored (the labels were mapped through the same bytes).
    linkage_digest: String,
}

/// Writes what every scoring leaves: features.parquet, scores.parquet and households.json.
#[allow(clippy::too_many_arguments)]
fn write_scoring(
    c: &Prepared,
    ranking: &str,
    model_digest: &str,
    unavailable: Vec<(String, String)>,
    households: Vec<HouseholdScore>,
    label: impl Fn(u64) -> Option<bool>,
    probability: Option<&[f64]>,
    fold: &[usize],
) -> Result<()> {
    let risk_dir = risk::dir(c.workspace);
    std::fs::create_dir_all(&risk_dir).with_context(|| format!("cannot create {}", risk_dir.display()))?;
    let stored = StoredScores {
        ranking: ranking.to_string(),
        as_of: c.as_of.to_string(),
        created: risk::now(),
        model_digest: model_digest.to_string(),
        linkage_digest: c.linkage_digest.clone(),
        groups: c.groups.iter().map(|(k, (l, _))| (k.clone(), l.clone())).collect(),
        unavailable,
        households: households
            .into_iter()
            .map(|s| StoredHousehold {
                label: label(s.household_id),
                groups: c
                    .groups
                    .iter()
                    .filter(|(_, (_, m))| m.contains(&s.household_id))
                    .map(|(k, _)| k.clone())
                    .collect(),
                score: s,
            })
            .collect(),
    };
    write_features(&risk_dir.join("features.parquet"), c.f)?;
    write_scores(&risk_dir.join("scores.parquet"), c.f, probability, fold)?;
    write_atomically(&risk_dir.join(risk::HOUSEHOLDS_FILE), serde_json::to_string(&stored)?.as_bytes())
}

fn scorecard_only(
    c: &Prepared,
    labels: LabelSources,
    unavailable: Vec<(String, String)>,
    why: &str,
    seed: u64,
) -> Result<ScorecardOnly> {
    let f = c.f;
    // one point per own flag: the reasons are the flags, each of weight 1
    let n = f.names.len();
    let card = Model {
        features: f.names.clone(),
        intercept: 0.0,
        coefficients: (0..n).map(|j| if j < f.own { 1.0 } else { 0.0 }).collect(),
        platt_a: 1.0,
        platt_b: 0.0,
        lambda: 0.0,
        lambda_log_loss: Vec::new(),
        folds: 0,
        seed,
        trained_on: 0,
        positives: 0,
    };
    let scores = outreach::score_households(f, &card, None, c.reasons, c.supports, seed);
    let by_household = f.households();
    let summary = ScorecardOnly {
        ranking: "scorecard",
        why: why.to_string(),
        as_of: c.as_of.to_string(),
        children_scored: f.children.len(),
        households_scored: by_household.len(),
        known_case_households: by_household.keys().filter(|h| f.known.contains(h)).count(),
        excluded_households: f.excluded_households,
        labels,
        unavailable_indicators: unavailable.clone(),
    };
    let risk_dir = risk::dir(c.workspace);
    write_scoring(c, "scorecard", "", unavailable, scores, |_| None, None, &vec![0; f.children.len()])?;
    write_atomically(&risk_dir.join(risk::EVALUATION_FILE), serde_json::to_string_pretty(&summary)?.as_bytes())?;
    let _ = std::fs::remove_file(risk_dir.join(risk::MODEL_FILE));
    let _ = std::fs::remove_file(risk_dir.join("report.html"));
    gate::record(
        c.workspace,
        c.user,
        c.purpose,
        "score",
        "risk",
        json!({
            "as_of": c.as_of.to_string(),
            "ranking": "scorecard",
            "why": why,
            "indicators": f.status.iter().map(|s| json!({"name": s.name, "available": s.available, "digest": s.digest})).collect::<Vec<_>>(),
            "children": f.children.len(),
        }),
    )?;
    Ok(summary)
}

fn write_features(path: &Path, f: &Features) -> Result<()> {
    let mut fields = vec![
        Field::new("person_id", DataType::UInt64, false),
        Field::new("household_id", DataType::UInt64, false),
        Field::new("district", DataType::Utf8, true),
    ];
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from(f.children.iter().map(|c| c.person_id).collect::<Vec<_>>())),
        Arc::new(UInt64Array::from(f.children.iter().map(|c| c.household_id).collect::<Vec<_>>())),
        Arc::new(StringArray::from(
            f.children.iter().map(|c| f.district.get(&c.household_id).map(String::as_str)).collect::<Vec<_>>(),
        )),
    ];
    for (j, name) in f.names.iter().enumerate() {
        fields.push(Field::new(name, DataType::Boolean, false));
        cols.push(Arc::new(BooleanArray::from((0..f.children.len()).map(|i| f.row(i)[j]).collect::<Vec<_>>())));
    }
    fields.push(Field::new("known_case", DataType::Boolean, false));
    cols.push(Arc::new(BooleanArray::from(
        f.children.iter().map(|c| f.known.contains(&c.household_id)).collect::<Vec<_>>(),
    )));
    risk::write_parquet(path, &RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
}

fn write_scores(path: &Path, f: &Features, p: Option<&[f64]>, fold: &[usize]) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("person_id", DataType::UInt64, false),
        Field::new("household_id", DataType::UInt64, false),
        Field::new("district", DataType::Utf8, true),
        Field::new("probability", DataType::Float64, true),
        Field::new("scorecard_points", DataType::UInt32, false),
        Field::new("fold", DataType::UInt32, false),
        Field::new("known_case", DataType::Boolean, false),
    ]));
    let n = f.children.len();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(UInt64Array::from(f.children.iter().map(|c| c.person_id).collect::<Vec<_>>())) as ArrayRef,
            Arc::new(UInt64Array::from(f.children.iter().map(|c| c.household_id).collect::<Vec<_>>())),
            Arc::new(StringArray::from(
                f.children.iter().map(|c| f.district.get(&c.household_id).map(String::as_str)).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(p.map_or_else(|| vec![None; n], |p| p.iter().map(|x| Some(*x)).collect()))),
            Arc::new(UInt32Array::from((0..n).map(|i| f.points(i)).collect::<Vec<_>>())),
            Arc::new(UInt32Array::from(fold.iter().map(|x| *x as u32).collect::<Vec<_>>())),
            Arc::new(BooleanArray::from(
                f.children.iter().map(|c| f.known.contains(&c.household_id)).collect::<Vec<_>>(),
            )),
        ],
    )?;
    risk::write_parquet(path, &batch)
}
