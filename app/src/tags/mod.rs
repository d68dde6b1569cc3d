//! The tag catalog as the rule editor searches it.

pub mod api;

pub use segment_contract::tags::*;

use leptos::prelude::*;
use segment_contract::segments::describe::Names;
use segment_core::TargetObject;

/// The names of `target`'s tags and attributes, for showing stored codes
/// (rule sentences, lookalike features) in the catalog's words. Read it
/// inside a Transition; until the catalog arrives it knows no name, and
/// codes read as themselves.
pub fn tag_names(target: TargetObject) -> Memo<Names> {
    let catalog = Resource::new(
        move || target,
        |target| api::search_tags(Some(target), String::new()),
    );
    Memo::new(move |_| {
        catalog
            .get()
            .and_then(Result::ok)
            .map(|tags| Names::of(&tags))
            .unwrap_or_default()
    })
}
