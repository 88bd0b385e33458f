//! Progress on long work: a bar on an interactive terminal, JSON lines with `--format json`,
//! nothing otherwise.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::OutputFormat;

pub struct Progress {
    bar: Option<ProgressBar>,
    json_task: Option<&'static str>,
    total: u64,
    last_json: u64,
}

impl Progress {
    pub fn new(task: &'static str, total: u64, format: OutputFormat) -> Progress {
        if format == OutputFormat::Json {
            return Progress { bar: None, json_task: Some(task), total, last_json: 0 };
        }
        let target = ProgressDrawTarget::stderr();
        if target.is_hidden() {
            return Progress { bar: None, json_task: None, total, last_json: 0 };
        }
        // an unknown total (a CSV read as a stream) gets a counter instead of a bar
        let (bar, template) = if total == 0 {
            (ProgressBar::with_draw_target(None, target), "{msg:>12} {spinner} {pos}")
        } else {
            (ProgressBar::with_draw_target(Some(total), target), "{msg:>12} [{bar:40}] {pos}/{len} ({eta} left)")
        };
        let style = ProgressStyle::with_template(template)
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(task);
        Progress { bar: Some(bar), json_task: None, total, last_json: 0 }
    }

    pub fn set(&mut self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
        if let Some(task) = self.json_task {
            // about one line per 10 %
            if done == self.total || done >= self.last_json + self.total.div_ceil(10) {
                self.last_json = done;
                eprintln!("{}", serde_json::json!({"progress": task, "done": done, "total": self.total}));
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
