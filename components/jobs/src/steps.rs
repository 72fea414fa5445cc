//! The step components an image job calls per image, over Spin service chaining, and
//! the checks of a step's params against the render catalog at job creation.

use api::ApiError;
use darkroom_spin::chain;
use jobs::driver::Problem;
use jobs::images::{ImageTask, Step, Steps};
use render::{Presets, RenderOptions};

/// Calls the step components: `variant` through the render component's
/// `POST /api/images/{id}/variants` (the route a client uses), `render` through
/// `POST /images/{id}/render?{query}` (renders into the cache under the GET's key, with
/// the job AVIF budget), `vectorize` through `POST /api/vectorize {"id"}` (as upload does).
pub struct Chained;

impl Steps for Chained {
    async fn apply(&self, step: &Step, id: &str) -> Result<(), Problem> {
        let json = |v: serde_json::Value| Some(serde_json::to_vec(&v).unwrap_or_default());
        let (component, path, body) = match step {
            Step::Variant { preset } => ("render", format!("/api/images/{id}/variants"), json(serde_json::json!({ "preset": preset }))),
            Step::Render { query } => ("render", format!("/images/{id}/render?{}", reencoded(query)), None),
            Step::Vectorize => ("vectorize", "/api/vectorize".to_owned(), json(serde_json::json!({ "id": id }))),
        };
        let (status, body) = chain::post(component, &path, body).await.map_err(|e| Problem { status: e.status(), detail: e.to_string() })?;
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(Problem { status, detail: format!("the {component} step answered {status}: {}", chain::problem_detail(&body)) })
    }
}

/// The query percent-encoded afresh, so whatever a client wrote is a valid URI (the
/// render key is made from the parsed options, so the encoding does not change it).
fn reencoded(query: &str) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(form_urlencoded::parse(query.as_bytes())).finish()
}

/// The presets render URLs and variants know: the built-in ones plus `filter_presets`.
pub fn presets() -> Result<Presets, ApiError> {
    // A blank variable means none (`with_user_json` takes it so, as the render component does).
    let json = spin_sdk::variables::get("filter_presets").unwrap_or_default();
    Presets::builtin()
        .with_user_json(&json)
        .map_err(|e| ApiError::Internal(format!("bad configuration: variable `filter_presets` is invalid: {e}")))
}

/// Refuses a `variant` of an unknown preset and a `render` query a render URL would
/// refuse (422 naming the param), before anything is written.
pub fn check(task: &ImageTask, presets: &Presets) -> jobs::Result<()> {
    match task {
        ImageTask::Step(Step::Variant { preset }) if presets.get(preset).is_none() => {
            Err(jobs::Error::Invalid(format!("params.preset: no preset named {preset:?} (GET /api/filters lists them)")))
        }
        ImageTask::Step(Step::Render { query }) => {
            RenderOptions::parse(query, presets).map(drop).map_err(|e| jobs::Error::Invalid(format!("params.query: {e}")))
        }
        _ => Ok(()),
    }
}
