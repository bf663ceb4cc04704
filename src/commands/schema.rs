//! `cargo xpipeline schema`: the JSON Schema of xpipeline.toml, generated from the key table
//! (the same text as the committed `xpipeline.schema.json`). Offline; JSON whatever `--output`.

use crate::config::json_schema;
use crate::error::Result;
use crate::ui::Ui;

pub fn run(ui: &Ui) -> Result<()> {
    ui.result_text(&json_schema::render())
}
