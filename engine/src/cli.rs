//! Command-line interface: verbs, flags and their help.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// mimamori (見守り): child data linkage for Japanese municipalities.
///
/// Each department pseudonymises its own extract; the linkage workspace links the pseudonymised
/// extracts into persons and households, scores risk indicators and builds outreach lists per
/// district. Every data access passes the policy gateway and lands in the audit log.
///
/// Start with `mimamori demo --out demo`: the whole pipeline on a synthetic municipality.
#[derive(Debug, Parser)]
#[command(name = "mimamori", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// Bloom-filter hardening (see the linkage crate's threat model).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HardeningArg {
    /// Plain keyed filters.
    None,
    /// Filter and complement, permuted: every filter has the same weight.
    Balance,
    /// Halves XORed together.
    XorFold,
}

/// Whether the tokens of name parts are bound to the birth year (see the linkage crate's
/// threat model).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TokenSaltArg {
    /// Every token stands for its value alone: a surname token is as frequent as the surname,
    /// which tells the common surnames apart by their counts (the frequency attack).
    None,
    /// Surnames, given names and their readings are tokenised together with the birth year;
    /// a record without a birth year carries no name-part tokens (its whole name still
    /// compares).
    BirthYear,
}

/// How `query` returns its result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    /// An aligned text table.
    #[default]
    Table,
    /// A JSON array of row objects.
    Json,
    /// CSV with a header line.
    Csv,
    /// Parquet (needs --out), for notebooks and DuckDB.
    Parquet,
}

/// How a verb prints its result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    #[default]
    Table,
    /// One JSON document (progress, if any, as JSON lines on stderr).
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline on a synthetic municipality, locally, and write a workspace.
    ///
    /// Generates the municipality into OUT/custodians/<department>/ (each department's raw
    /// extract and mapping, as on the custodians' own machines; ground truth under
    /// OUT/custodians/truth/), creates the keys (OUT/custodians/keys/, OUT/custodians/vaults/),
    /// and has every custodian pseudonymise its extract into OUT/workspace/extracts/, with its
    /// vault kept under OUT/custodians/vaults/. Later stages (link, score, report) join the demo
    /// as they land.
    Demo {
        /// Folder to write; must be empty or absent unless --force.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Households of the synthetic municipality.
        #[arg(long, default_value_t = 5_000, value_name = "N")]
        households: u64,
        /// Seed for every random choice (DP noise excepted).
        #[arg(long, default_value_t = 20_260_401, value_name = "S")]
        seed: u64,
        /// Replace a non-empty OUT (the old contents are removed only after the new demo is complete).
        #[arg(long)]
        force: bool,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Generate a synthetic municipality: registry and department extracts with noise and truth.
    ///
    /// Writes one folder per department (registry: UTF-8 CSV; welfare, health: CP932 CSV;
    /// education: .xlsx; nursery: UTF-8 CSV with BOM; consultation: Parquet), each with the
    /// mapping TOML its custodian would write, plus truth/ (truth.csv: department, record_id,
    /// person_id, household_id; outcomes.csv: latent needs per child; noise.csv: each noise
    /// applied) and synth.json (counts and measured noise rates). Deterministic for a seed;
    /// memory stays flat however many households.
    Synth {
        /// Households with children (about 3.5 persons and 5.9 records each; 171,000 ≈ one million records).
        #[arg(long, value_name = "N")]
        households: u64,
        /// Seed; the same seed and N give byte-identical extracts.
        #[arg(long, default_value_t = 20_260_401, value_name = "S")]
        seed: u64,
        /// Folder to create; must be empty or absent.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Reference date (end of the school year described), YYYY-MM-DD.
        #[arg(long, default_value = "2026-03-31", value_name = "DATE")]
        as_of: chrono::NaiveDate,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Create a linkage workspace with a commented mimamori.toml to edit.
    Init {
        /// Workspace folder; created if absent. An existing mimamori.toml is never overwritten.
        #[arg(long, value_name = "DIR")]
        workspace: PathBuf,
    },
    /// Create a new 256-bit key from the operating system's random source.
    ///
    /// Without --vault: the linkage key, shared by all custodians (tokens and Bloom encodings
    /// are keyed with it). With --vault: one department's vault key (record_ref and the
    /// re-identification vault). The file is written with mode 0600 and never overwritten;
    /// only its fingerprint is printed. Keep key files with the custodians, never in the
    /// workspace.
    Keygen {
        /// Make a vault key instead of the linkage key.
        #[arg(long, conflicts_with = "signing")]
        vault: bool,
        /// Make a reviewer's Ed25519 signing key for audit checkpoints (FILE, and FILE.pub to
        /// give to whoever verifies).
        #[arg(long)]
        signing: bool,
        /// Key file to create.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Pseudonymise one department's extract, at the custodian.
    ///
    /// Reads the extract the mapping names (its path is relative to the mapping file),
    /// normalises names, readings, birth dates, sex and addresses, replaces them with keyed
    /// tokens and Bloom encodings, carries the mapped attributes, and writes records.parquet
    /// and manifest.json into --out (WS/extracts/<department>/). The record_ref → record_id
    /// vault is encrypted to --vault, which must be outside the workspace. Values that cannot
    /// be read are treated as unknown and reported by file, line and column (never by value);
    /// --strict stops at the first. Birth dates known in part (1851, abt 1850, March 1848) keep
    /// their known parts; the mapping's [source] date_order ("dmy"/"mdy", for 3/4/1849) and
    /// name_order ("given_first", for a one-column "John Smith") say how the extract writes
    /// them; an age (identity.age, a census's "34" or "3/12") is read as an estimated birth
    /// year on the day [source] age_on says (docs/pseudonymise.md).
    Pseudonymise {
        /// The extract's mapping TOML.
        #[arg(long, value_name = "M.toml")]
        mapping: PathBuf,
        /// The linkage key (mimamori keygen).
        #[arg(long, value_name = "LINK.key")]
        key: PathBuf,
        /// This department's vault key (mimamori keygen --vault).
        #[arg(long, value_name = "V.key")]
        vault_key: PathBuf,
        /// Output folder, WS/extracts/<department>/; must be empty or absent unless --force.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Vault file [default: <department>.vault beside the mapping file].
        #[arg(long, value_name = "FILE")]
        vault: Option<PathBuf>,
        /// Bloom-filter hardening; every department of a workspace must use the same.
        #[arg(long, value_enum, default_value_t = HardeningArg::Balance)]
        hardening: HardeningArg,
        /// Binding of name-part tokens to the birth year; every department of a workspace must
        /// use the same. birth-year shrinks the surname leak about tenfold but costs pair F1
        /// where siblings share an address (docs/pseudonymise.md).
        #[arg(long, value_enum, default_value_t = TokenSaltArg::None)]
        token_salt: TokenSaltArg,
        /// Stop at the first value that cannot be read.
        #[arg(long)]
        strict: bool,
        /// Replace an existing extract in --out (only after the new one is complete).
        #[arg(long)]
        force: bool,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Link every pseudonymised extract of a workspace into persons and households.
    ///
    /// Reads WS/extracts/*/ (records.parquet + manifest.json; all must share the linkage key's
    /// fingerprint and encodings), blocks on tokens with the rules of [linkage] in
    /// mimamori.toml (defaults when absent), prints each rule's candidate-pair count before
    /// comparing, estimates a Fellegi–Sunter model (u from random pairs, m and λ by EM), and
    /// clusters records into persons and households. Writes WS/linked/: persons.parquet
    /// (department, record_ref, person_id, household_id), households.parquet, pairs.parquet,
    /// review.parquet (borderline pairs for clerical review), model.json and quality.json. The
    /// previous WS/linked/ stays in place until the new one is complete. The policies must
    /// permit `link` for the user and purpose; allowed or denied, the run is audited.
    Link {
        #[arg(long, value_name = "WS")]
        workspace: PathBuf,
        /// Evaluation only: score the result against truth.csv (department, record_id,
        /// person_id, household_id); needs --vault-dir to map record_refs to record_ids.
        #[arg(long, value_name = "FILE", requires = "vault_dir")]
        truth: Option<PathBuf>,
        /// Folder with each department's <department>.vault and <department>.vault.key (for --truth).
        #[arg(long, value_name = "DIR")]
        vault_dir: Option<PathBuf>,
        /// Who runs the linkage [default: the login name if it is a user of mimamori.toml, else
        /// its one data-linkage officer]. With --truth, the vaults are
        /// opened by each department's custodian (policy action `export`).
        #[arg(long, value_name = "U")]
        user: Option<String>,
        /// The purpose of the linkage, as mimamori.toml declares it.
        #[arg(long, value_name = "P", default_value = "child_outreach")]
        purpose: String,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Map linked records back to record ids, at the custodians (evaluation, clerical review).
    ///
    /// For each department in WS/linked/persons.parquet, opens DIR/<department>.vault with
    /// DIR/<department>.vault.key and writes --out as CSV: department, record_id, person_id,
    /// household_id. The file holds record ids, so it must be written outside the workspace.
    /// The policies must permit `export` for whoever opens each vault; allowed or denied, it
    /// is audited.
    ExportLinks {
        #[arg(long, value_name = "WS")]
        workspace: PathBuf,
        /// Folder holding <department>.vault and <department>.vault.key for every department.
        #[arg(long, value_name = "DIR")]
        vault_dir: PathBuf,
        /// CSV file to create (outside the workspace); never overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Who exports [default: the holder of each department's vault key, as that
        /// department's custodian in mimamori.toml]. A named custodian exports
        /// only its own department.
        #[arg(long, value_name = "U")]
        user: Option<String>,
        #[arg(long, value_name = "P", default_value = "child_outreach")]
        purpose: String,
    },
    /// Charts of the last linkage as one self-contained HTML file (no script, no external asset).
    ///
    /// Match-weight histogram with the threshold, m and u per field and level, a waterfall of
    /// the borderline pair nearest the threshold, records per person, blocking rules, and the
    /// model's own quality estimates (and the truth scores when `link --truth` was used).
    /// Aggregates and comparison levels only. The policies must permit `view_quality`;
    /// audited.
    LinkReport {
        #[arg(long, value_name = "WS")]
        workspace: PathBuf,
        /// HTML file to write [default: WS/linked/report.html].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Who asks [default: the login name if it is a user of mimamori.toml, else its one
        /// data-linkage officer].
        #[arg(long, value_name = "U")]
        user: Option<String>,
        #[arg(long, value_name = "P", default_value = "child_outreach")]
        purpose: String,
    },
    /// Run one SQL query through the policy gateway.
    ///
    /// The query is planned (reading no data), analysed column by column (which columns reach
    /// the output, row by row or in aggregates, which are filtered, grouped, joined or counted),
    /// checked against the plan rules and the Cedar policies for the user's role and the
    /// purpose, and rewritten: a caseworker sees only their districts' rows; every aggregate
    /// cell describing fewer than `min_group_size` persons, or differing by fewer than that
    /// from a cell released earlier under the same purpose, is suppressed. Identifier tokens
    /// and linkage ids are never shown. Exit 0 allowed (rewrites are listed on stderr), 2
    /// denied with the reasons, 1 for SQL that does not plan. Every request, allowed or not,
    /// is written to the audit log before any result is shown.
    ///
    /// Tables: extracts.<department> (with person_id and household_id from the last linkage),
    /// persons, households, pairs, review (schema `linked`, the default).
    Query {
        #[command(flatten)]
        query: QueryArgs,
        /// Release outside the municipality: each cell's distinct persons counted with
        /// differential privacy (discrete Laplace, cells chosen by partition selection when
        /// the purpose has a δ budget), charged to the purpose's budget in WS/dp/ledger.jsonl
        /// before anything is computed. Other aggregate columns are not released.
        #[arg(long)]
        external: bool,
        /// ε of this release (with --external).
        #[arg(long, default_value = "0.1", value_name = "E", requires = "external")]
        epsilon: String,
    },
    /// Release aggregates outside the municipality with differential privacy.
    ///
    /// The same as `mimamori query --external --epsilon E`: the query must GROUP BY the cells to
    /// release (no HAVING, ORDER BY, LIMIT or DISTINCT above the GROUP BY); each cell's
    /// distinct persons are counted with differential privacy through dp-core (discrete
    /// Laplace; cells chosen by partition selection when the purpose has a δ budget), and ε is
    /// charged to the purpose's budget in WS/dp/ledger.jsonl before anything is computed; a
    /// release that would exceed the budget is denied (exit 2). Policy action `release`
    /// (officers, reviewers). Audited like every query.
    Release {
        #[command(flatten)]
        query: QueryArgs,
        /// ε this release spends.
        #[arg(long, default_value = "0.1", value_name = "E")]
        epsilon: String,
    },
    /// Compute the risk indicators and score every child and household.
    ///
    /// Runs each indicator (risk-model/indicators/*.sql, plus WS/risk/indicators/*.sql) over
    /// the linked workspace: one flag per child, household indicators shared by siblings and
    /// parents. Fits an L2-regularised logistic model on the labelled outcomes
    /// (WS/risk/labels.parquet and the outcomes caseworkers recorded), cross-fitted by
    /// household and Platt-calibrated, so that every score is the sum of its indicators'
    /// contributions. Reports, on outcomes the model did not see, AUC, precision and recall at
    /// 18% of children and at caseworker capacity beside the rule-based scorecard,
    /// calibration and the fairness audit. An indicator whose department is missing is named
    /// as unavailable. Writes WS/risk/{features,scores}.parquet, households.json, model.json,
    /// evaluation.json. Gated (action `score`) and audited.
    Score {
        #[arg(long, value_name = "WS")]
        workspace: PathBuf,
        #[arg(long, value_name = "U")]
        user: String,
        #[arg(long, value_name = "P")]
        purpose: String,
        /// The date the extracts describe (recent moves are counted back from it) [default: today].
        #[arg(long, value_name = "YYYY-MM-DD")]
        as_of: Option<chrono::NaiveDate>,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Build outreach lists per district from the last scoring; approve them; record outcomes.
    ///
    /// Without a subcommand: ranks each district's households by the calibrated probability
    /// that a child needs support, keeps those at or above [outreach] min_probability, and cuts
    /// new cases to the district's caseworker_capacity; known cases (要対協) take no place and
    /// are shown marked. Each household carries its reasons and the supports it may be eligible
    /// for but does not receive (risk-model/supports.toml). Writes
    /// WS/risk/outreach/<district>.parquet and <district>.json with the fairness audit. A list
    /// goes to caseworkers only after two distinct reviewers approve it and a custodian
    /// re-identifies it (`mimamori reidentify`).
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Outreach {
        #[command(subcommand)]
        command: Option<OutreachCommand>,
        #[arg(long, value_name = "WS", required = true)]
        workspace: Option<PathBuf>,
        #[arg(long, value_name = "U", required = true)]
        user: Option<String>,
        #[arg(long, value_name = "P", required = true)]
        purpose: Option<String>,
        /// Build only this district's list (its id in mimamori.toml).
        #[arg(long, value_name = "D")]
        district: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// At the custodians: map an approved outreach list's households back to record ids.
    ///
    /// The list must be approved by two distinct reviewers. For each department whose
    /// DIR/<department>.vault and .vault.key are present (a custodian opens only their own
    /// department's), writes list_id, rank, household_id, department, record_id as CSV outside
    /// the workspace (never overwritten); reasons and supports reach the caseworker by
    /// household_id, not the custodians. Refused once `mimamori link` has run since the list
    /// was built. Gated (action `reidentify`) and audited.
    Reidentify {
        #[arg(long, value_name = "WS")]
        workspace: PathBuf,
        /// The list id printed by `mimamori outreach`.
        #[arg(long, value_name = "ID")]
        list: String,
        #[arg(long, value_name = "DIR")]
        vault_dir: PathBuf,
        /// Who re-identifies [default: $MIMAMORI_USER, else the login name if it is a user of
        /// mimamori.toml, else the custodian of each department whose vault is in DIR].
        #[arg(long, value_name = "U")]
        user: Option<String>,
        #[arg(long, value_name = "P", default_value = "child_outreach")]
        purpose: String,
        /// CSV to create [default: DIR/outreach-<ID>.csv].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// The audit log: verify its hash chain, show it to reviewers.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Serve the portal for caseworkers, reviewers and officers (Japanese web UI over TLS).
    ///
    /// Caseworkers see the approved outreach list of their own districts and record what visits
    /// found; reviewers approve or reject lists (two distinct reviewers), read and verify the
    /// audit log, and see the DP budget and denied accesses; officers see the linkage quality
    /// report and indicator prevalence by district (through the query gateway). Every page
    /// passes the same policies as the CLI and lands in the audit log.
    ///
    /// Users log in with the passwords `mimamori user add` sets. Without --tls-cert/--tls-key a
    /// self-signed certificate is made once for local use (WS/portal/tls/). Plain HTTP only on a
    /// loopback address with --insecure-http.
    Serve {
        #[arg(long, value_name = "WS")]
        workspace: PathBuf,
        /// Address and port to listen on.
        #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8443")]
        listen: std::net::SocketAddr,
        /// The server certificate (PEM), issued for the portal's host name.
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// Its private key (PEM).
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Serve plain HTTP (loopback addresses only), e.g. behind a TLS-terminating proxy on
        /// the same machine.
        #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
        insecure_http: bool,
        /// Minutes without a request after which a session ends.
        #[arg(long, value_name = "MIN", default_value_t = 15)]
        idle_timeout: u64,
    },
    /// Portal users: `user add` adds a user to mimamori.toml with a password, or sets the
    /// password of one there.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Check a workspace's mimamori.toml and print what it configures.
    Config {
        #[arg(long, value_name = "DIR")]
        workspace: PathBuf,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutreachCommand {
    /// Approve a list as a reviewer; two distinct reviewers make it approved.
    Approve {
        #[command(flatten)]
        review: ListReview,
        /// Approve although the fairness audit found a disparity, for this stated reason (recorded).
        #[arg(long, value_name = "REASON")]
        override_fairness: Option<String>,
    },
    /// Reject a list as a reviewer, with the reason: it can then be neither approved nor
    /// re-identified (an identical rebuild stays rejected). Gated (action `reject`), audited.
    Reject {
        #[command(flatten)]
        review: ListReview,
        /// Why the list should not go out (recorded).
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Show a list as reviewers see it before approving: its counts, the fairness audit, the
    /// disparities, the indicators not available and the approvals in the audit log (no
    /// household). Gated (action `view_list`: reviewers and officers) and audited.
    Show {
        #[arg(long, value_name = "WS")]
        workspace: PathBuf,
        #[arg(long, value_name = "ID")]
        list: String,
        #[arg(long, value_name = "U")]
        user: String,
        #[arg(long, value_name = "P", default_value = "child_outreach")]
        purpose: String,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Record what contacting a household of an approved list found (caseworkers, own districts).
    Record {
        #[arg(long, value_name = "WS")]
        workspace: PathBuf,
        /// The household_id on the list.
        #[arg(long, value_name = "H")]
        household: u64,
        #[arg(long, value_enum)]
        outcome: crate::risk::Outcome,
        /// The caseworker [default: $MIMAMORI_USER, else the login name if it is a user of
        /// mimamori.toml].
        #[arg(long, value_name = "U")]
        user: Option<String>,
        #[arg(long, value_name = "P", default_value = "child_outreach")]
        purpose: String,
        /// Whether a note was written (the note itself stays in the caseworker's case file).
        #[arg(long)]
        noted: bool,
    },
}

/// What `query` and `release` share: the workspace, who asks under which purpose, the SQL and
/// where the result goes.
#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    #[arg(long, value_name = "WS")]
    pub workspace: PathBuf,
    /// A user of the workspace's mimamori.toml.
    #[arg(long, value_name = "U")]
    pub user: String,
    /// A purpose of the workspace's mimamori.toml, approved for the user's role (for a release
    /// outside, one with an ε budget, e.g. statistics_release).
    #[arg(long, value_name = "P")]
    pub purpose: String,
    /// One SQL query (SELECT or WITH; a release outside GROUPs BY the cells to release).
    #[arg(value_name = "SQL")]
    pub sql: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: QueryFormat,
    /// Write the result to FILE (replaced only once complete) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The list and the reviewer of `outreach approve` and `outreach reject`.
#[derive(Debug, clap::Args)]
pub struct ListReview {
    #[arg(long, value_name = "WS")]
    pub workspace: PathBuf,
    #[arg(long, value_name = "ID")]
    pub list: String,
    /// The reviewer (a user with role reviewer).
    #[arg(long, value_name = "R")]
    pub reviewer: String,
    #[arg(long, value_name = "P", default_value = "child_outreach")]
    pub purpose: String,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user with a portal password (Argon2id), or set the password of an existing user.
    ///
    /// The password is typed twice on the terminal, or given on one line of stdin with
    /// --password-stdin; at least 12 characters. mimamori.toml keeps its comments and layout;
    /// the change is validated before it replaces the file, and logged.
    Add {
        #[arg(long, value_name = "WS")]
        workspace: PathBuf,
        /// The login name (ASCII letters, digits, _ . -).
        #[arg(long, value_name = "NAME")]
        name: String,
        /// For a new user: data_linkage_officer, caseworker, reviewer or custodian.
        #[arg(long, value_name = "ROLE")]
        role: Option<String>,
        /// For a new caseworker: a district id they cover (repeat for several).
        #[arg(long = "district", value_name = "D")]
        districts: Vec<String>,
        /// For a new custodian: their department.
        #[arg(long, value_name = "DEPT")]
        department: Option<String>,
        /// For a new user: the name shown in the portal.
        #[arg(long, value_name = "TEXT")]
        display_name: Option<String>,
        /// Read the password from the first line of stdin instead of the terminal.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole log: any edit, deletion, reordering or truncation is found and its line named.
    Verify {
        #[arg(long, value_name = "WS")]
        workspace: PathBuf,
        /// A reviewer's public key (FILE.pub of `keygen --signing`): require checkpoints signed
        /// by it and rely on those only.
        #[arg(long, value_name = "PUB")]
        trusted_key: Option<PathBuf>,
    },
    /// Sign the current end of the log with a reviewer's key (found then: truncation of the
    /// tail, a rewrite of the whole log). Run it after each review; the checkpoint is logged.
    Checkpoint {
        #[arg(long, value_name = "WS")]
        workspace: PathBuf,
        /// The reviewer's signing key (mimamori keygen --signing).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The reviewer, a user of mimamori.toml with the reviewer role.
        #[arg(long, value_name = "U")]
        user: String,
    },
    /// Show the log, newest last: time, user, role, purpose, action, decision, reason, rows.
    ///
    /// The chain is verified first; a broken log is reported, not shown.
    Show {
        #[arg(long, value_name = "WS")]
        workspace: PathBuf,
        /// Only this user's entries.
        #[arg(long, value_name = "U")]
        user: Option<String>,
        /// Only entries at or after this time (RFC 3339, or a date YYYY-MM-DD in UTC).
        #[arg(long, value_name = "T")]
        since: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}
