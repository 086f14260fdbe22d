//! The six tools: their definitions (title, description for a model, input schema,
//! output schema taken from `schema/api-v1.json`), their arguments, and their
//! answers, which are the `/api/v1/` views: `structuredContent` is the view's JSON,
//! the text content its CLI table.

use std::sync::{Arc, OnceLock};

use rmcp::model::{CallToolResult, ContentBlock, ErrorData, JsonObject, Tool, ToolAnnotations};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::collectors::Collectors;
use crate::views::{self, Answer, Inputs, Tabular, View};

/// The JSON schema of every `/api/v1/` answer, compiled in: each tool's output
/// schema is its view's definition in it.
const API_SCHEMA: &str = include_str!("../../schema/api-v1.json");

/// What a run's `state` means, for every description that shows one.
const RUN_STATES: &str = "Run `state`: `uninitialized` (created, not configured), \
`waiting_for_members` (needs `init_min_clients` clients to start an epoch), `warmup` \
(clients loading the model), `round_train` and `round_witness` (training: a round, then \
its witnesses), `cooldown` (end of epoch, checkpoint upload), `finished`, `paused`.";

/// What `sources` means, for every description.
const SOURCES: &str = "`sources` lists each upstream read and its `state`: `ok`, \
`partial` (some parts failed), `failing`, `pending` (no poll finished yet), `disabled`; \
when one is not `ok` the answer is partial (what is known is still returned, with \
`error` saying why). `generated_at` is Unix seconds; ages are seconds before it.";

/// One tool.
#[derive(Debug)]
pub struct ToolSpec {
    /// Its name.
    pub name: &'static str,
    /// The view it answers with.
    pub view: View,
    /// For people.
    pub title: &'static str,
    /// For a model: what it answers, units, what the states mean.
    pub description: &'static str,
    /// Its argument, `run_id`, and whether it is required.
    pub run_id: Option<Needed>,
}

/// Whether an argument must be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needed {
    /// It must.
    Required,
    /// It may.
    Optional,
}

/// The tools, in the order they are listed.
pub const TOOLS: [ToolSpec; 6] = [
    ToolSpec {
        name: "list_runs",
        view: View::Runs,
        title: "List Psyche training runs",
        description: "Every training run on the Psyche network (Solana coordinator), active \
runs first: state, step in progress and total steps, progress ratio (0-1), epoch, clients \
in the epoch and clients needed to start (`init_min_clients`), the age in seconds of its \
newest checkpoint on HuggingFace and of its last state change; plus the newest models \
of the watched HuggingFace organisations (`latest_models`). Use `run_details` for one run. ",
        run_id: None,
    },
    ToolSpec {
        name: "run_details",
        view: View::Run,
        title: "One Psyche training run in full",
        description: "Everything known about one run, by `run_id` (as `list_runs` names it): \
model (architecture, parameters, sequence length in tokens), data source, learning-rate \
schedule, optimizer, configuration (phase times in seconds, batch-size ramp, minimum \
clients), progress (steps, tokens trained and total), clients by health (`healthy`, \
`dropped`, `withdrawn`, `ejected`), witnesses, checkpoint (on chain: kind, repo, revision; \
on the Hub: commit time, step, `verified` when the revision exists there, `lag_steps` \
behind training), reward points, treasury (whole tokens), and the current phase's deadline \
(`overdue` true means nobody is advancing the run). An unknown run id is a tool error \
naming the closest run ids. ",
        run_id: Some(Needed::Required),
    },
    ToolSpec {
        name: "checkpoints",
        view: View::Checkpoints,
        title: "Model checkpoints on HuggingFace",
        description: "Per HuggingFace model repo (the watched organisations' and every repo a \
run checkpoints to): repo `state` (`ok`, `unauthorized`: private or gated, `not_found`), \
the runs naming it, its newest `step <N>` checkpoint commits (time in Unix seconds, step, \
sha; at most 5), and the files of the newest checkpoint commit with their sizes in bytes \
and their total. Give `run_id` to see only the repos that run checkpoints to. ",
        run_id: Some(Needed::Optional),
    },
    ToolSpec {
        name: "pool_status",
        view: View::Pool,
        title: "Psyche mining pool",
        description: "The mining pool(s) on Solana mainnet that fund training: capacity \
(`max_deposit`), `deposited`, `remaining` (what can still be deposited), `fill_ratio` \
(0-1), vault balance, number of lenders, and whether deposits are `frozen` or rewards \
claimable. Amounts are whole tokens of the pool's collateral mint. ",
        run_id: None,
    },
    ToolSpec {
        name: "network_stats",
        view: View::Network,
        title: "Psyche network overview",
        description: "Network overview: Solana RPC health per endpoint (`up`, cluster, \
version, slots, `slots_behind`, transactions per second), how many runs are active and \
the models they train, mining-pool funding in whole tokens, and the ecosystem links \
(dashboard, documentation, code, forum, HuggingFace). ",
        run_id: None,
    },
    ToolSpec {
        name: "contribute",
        view: View::Contribute,
        title: "How to contribute to Psyche",
        description: "Where help is needed now and how to give it: compute (runs in \
`waiting_for_members` and how many clients they still need; training runs short of \
clients), funds (mining pools with remaining capacity, whole tokens), code (the \
repository), environments (Atropos), community (the forum), with the key links. ",
        run_id: None,
    },
];

/// The tool named `name`.
pub fn find(name: &str) -> Option<&'static ToolSpec> {
    TOOLS.iter().find(|t| t.name == name)
}

impl ToolSpec {
    /// Its MCP definition.
    pub fn definition(&self) -> Tool {
        Tool::new(self.name, self.full_description(), self.input_schema())
            .with_title(self.title)
            .with_raw_output_schema(Arc::new(output_schema(self.view)))
            .with_annotations(
                ToolAnnotations::with_title(self.title)
                    .read_only(true)
                    .destructive(false)
                    .idempotent(true)
                    .open_world(false),
            )
    }

    fn full_description(&self) -> String {
        let states = matches!(self.view, View::Runs | View::Run | View::Contribute)
            .then_some(RUN_STATES)
            .unwrap_or_default();
        format!("{}{states} {SOURCES}", self.description)
    }

    fn input_schema(&self) -> JsonObject {
        let mut properties = Map::new();
        let mut required = Vec::new();
        if let Some(needed) = self.run_id {
            properties.insert(
                "run_id".into(),
                json!({
                    "type": "string",
                    "description": "A run id as list_runs shows it, e.g. consilience-40b-1",
                }),
            );
            if needed == Needed::Required {
                required.push(Value::from("run_id"));
            }
        }
        let mut schema = Map::new();
        schema.insert("type".into(), "object".into());
        schema.insert("properties".into(), Value::Object(properties));
        if !required.is_empty() {
            schema.insert("required".into(), Value::Array(required));
        }
        schema.insert("additionalProperties".into(), false.into());
        schema
    }

    /// Its arguments, checked: `run_id` a string when given, present when required,
    /// nothing else. A wrong argument is a JSON-RPC invalid-params error.
    pub fn run_id_argument(&self, args: Option<&JsonObject>) -> Result<Option<String>, ErrorData> {
        let empty = JsonObject::new();
        let args = args.unwrap_or(&empty);
        if let Some(other) = args
            .keys()
            .find(|k| k.as_str() != "run_id" || self.run_id.is_none())
        {
            return Err(ErrorData::invalid_params(
                format!(
                    "{}: unknown argument {other:?}{}",
                    self.name,
                    if self.run_id.is_some() {
                        " (it takes run_id)"
                    } else {
                        " (it takes none)"
                    }
                ),
                None,
            ));
        }
        match (args.get("run_id"), self.run_id) {
            (Some(Value::String(id)), _) => Ok(Some(id.clone())),
            (None | Some(Value::Null), Some(Needed::Optional) | None) => Ok(None),
            (None | Some(Value::Null), Some(Needed::Required)) => Err(ErrorData::invalid_params(
                format!("{}: run_id is required (a string)", self.name),
                None,
            )),
            (Some(other), _) => Err(ErrorData::invalid_params(
                format!(
                    "{}: run_id must be a string, not {}",
                    self.name,
                    json_type(other)
                ),
                None,
            )),
        }
    }

    /// The answer from the latest snapshots, ages against `now`.
    pub fn answer(
        &self,
        collectors: &Collectors,
        run_id: Option<&str>,
        now: i64,
    ) -> Result<CallToolResult, ErrorData> {
        let inputs = Inputs::read(collectors, self.view);
        match self.view {
            View::Runs => result(&views::runs(&inputs, now)),
            View::Run => {
                let id = run_id.unwrap_or_default();
                let answer = views::run(&inputs, now, id);
                if let Some(u) = &answer.data.unsupported {
                    let mut result = result(&answer)?;
                    result.is_error = Some(true);
                    result.content = vec![ContentBlock::text(format!(
                        "run {}: {}\n",
                        u.run_id, u.message
                    ))];
                    Ok(result)
                } else if answer.data.run.is_none() && inputs.coordinator.is_some() {
                    let closest = views::closest_run_ids(&inputs, id);
                    let mut result = result(&answer)?;
                    result.is_error = Some(true);
                    result.content = vec![ContentBlock::text(format!(
                        "{}\n",
                        views::no_such_run(id, &closest)
                    ))];
                    Ok(result)
                } else {
                    result(&answer)
                }
            }
            View::Checkpoints => result(&views::checkpoints(&inputs, now, run_id)),
            View::Pool => result(&views::pool(&inputs, now)),
            View::Network => result(&views::network(&inputs, now)),
            View::Contribute => result(&views::contribute(&inputs, now)),
        }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `structuredContent`: the view's JSON; text: its CLI table.
fn result<T: Serialize + Tabular>(answer: &Answer<T>) -> Result<CallToolResult, ErrorData> {
    let value = serde_json::to_value(answer)
        .map_err(|e| ErrorData::internal_error(format!("cannot encode the answer: {e}"), None))?;
    let mut result = CallToolResult::structured(value);
    result.content = vec![ContentBlock::text(answer.table())];
    Ok(result)
}

/// The parsed schema file (an empty object if it did not parse, which a test
/// rules out).
fn api_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(API_SCHEMA).unwrap_or_else(|_| json!({})))
}

/// The output schema of `view`: its definition in `schema/api-v1.json`, with the
/// definitions it refers to (and theirs), so `#/$defs/…` references resolve.
pub fn output_schema(view: View) -> JsonObject {
    let root = api_schema();
    let defs = root.get("$defs").and_then(Value::as_object);
    let mut out = defs
        .and_then(|d| d.get(view.kind()))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut needed = std::collections::BTreeSet::new();
    let mut todo = vec![Value::Object(out.clone())];
    while let Some(v) = todo.pop() {
        for name in refs(&v) {
            if needed.insert(name.clone())
                && let Some(def) = defs.and_then(|d| d.get(&name))
            {
                todo.push(def.clone());
            }
        }
    }
    if let Some(s) = root.get("$schema") {
        out.insert("$schema".into(), s.clone());
    }
    if !needed.is_empty() {
        let kept: Map<String, Value> = needed
            .into_iter()
            .filter_map(|n| Some((n.clone(), defs?.get(&n)?.clone())))
            .collect();
        out.insert("$defs".into(), Value::Object(kept));
    }
    out
}

/// The `#/$defs/<name>` names `v` refers to.
fn refs(v: &Value) -> Vec<String> {
    match v {
        Value::Object(o) => o
            .iter()
            .flat_map(|(k, v)| match (k.as_str(), v) {
                ("$ref", Value::String(r)) => r
                    .strip_prefix("#/$defs/")
                    .map(str::to_owned)
                    .into_iter()
                    .collect(),
                _ => refs(v),
            })
            .collect(),
        Value::Array(a) => a.iter().flat_map(refs).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_file_parses_and_every_view_has_a_closed_output_schema() {
        assert!(serde_json::from_str::<Value>(API_SCHEMA).is_ok());
        for tool in &TOOLS {
            let schema = output_schema(tool.view);
            assert_eq!(schema["type"], "object", "{}", tool.name);
            assert_eq!(schema["properties"]["kind"]["const"], tool.view.kind());
            // Every reference resolves inside the tool's own schema.
            let defs = schema.get("$defs").and_then(Value::as_object);
            for name in refs(&Value::Object(schema.clone())) {
                assert!(
                    defs.is_some_and(|d| d.contains_key(&name)),
                    "{}: {name}",
                    tool.name
                );
            }
        }
        // `pool_status` refers to pools and sources only, not to every definition.
        let pool = output_schema(View::Pool);
        let defs: Vec<&String> = pool["$defs"].as_object().unwrap().keys().collect();
        assert_eq!(defs, ["pool_entry", "source"]);
    }

    #[test]
    fn arguments_are_checked() {
        let run = find("run_details").unwrap();
        let args = |v: Value| v.as_object().cloned().unwrap();
        assert_eq!(
            run.run_id_argument(Some(&args(json!({"run_id": "a"}))))
                .unwrap(),
            Some("a".to_owned())
        );
        for bad in [json!({}), json!({"run_id": 42}), json!({"run": "a"})] {
            let e = run.run_id_argument(Some(&args(bad.clone()))).unwrap_err();
            assert_eq!(e.code, rmcp::model::ErrorCode::INVALID_PARAMS, "{bad}");
        }
        let e = run.run_id_argument(None).unwrap_err();
        assert!(e.message.contains("run_id is required"), "{}", e.message);
        let checkpoints = find("checkpoints").unwrap();
        assert_eq!(checkpoints.run_id_argument(None).unwrap(), None);
        let e = checkpoints
            .run_id_argument(Some(&args(json!({"run_id": true}))))
            .unwrap_err();
        assert!(e.message.contains("not a boolean"), "{}", e.message);
        let runs = find("list_runs").unwrap();
        assert!(
            runs.run_id_argument(Some(&args(json!({"run_id": "a"}))))
                .is_err()
        );
        assert_eq!(runs.run_id_argument(Some(&args(json!({})))).unwrap(), None);
    }
}
