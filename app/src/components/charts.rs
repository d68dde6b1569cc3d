//! Charts drawn as HTML and SVG: bars people compare at a glance, with the
//! exact numbers beside them for those who would rather read.

use leptos::prelude::*;

/// One row of a [`ShareBars`] chart: a value and its share in two groups.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareRow {
    pub label: String,
    pub first: f64,
    pub second: f64,
    /// What the shares count, shown on hover (`12 of 40`).
    pub detail: String,
    /// How much more common in the first group (`first / second`).
    pub lift: Option<f64>,
}

/// `0.4567` → `45.7%`.
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// `2.04` → `×2.0`; beyond a hundred, `> ×100`.
pub fn lift_text(lift: Option<f64>) -> String {
    match lift {
        None => "—".into(),
        Some(lift) if lift >= 100.0 => "> ×100".into(),
        Some(lift) => format!("×{lift:.1}"),
    }
}

/// Two bars per row (the first group above the second), scaled so the
/// largest share fills the column, with both percentages and the lift.
/// A table underneath: screen readers and copy-paste get the numbers.
#[component]
pub fn ShareBars(
    rows: Vec<ShareRow>,
    /// Names of the two groups, for the legend and the column headers.
    first: String,
    second: String,
    /// The header of the value column.
    value_header: String,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView {
    let largest = rows
        .iter()
        .flat_map(|row| [row.first, row.second])
        .fold(0.0_f64, f64::max)
        .max(f64::EPSILON);
    let width = move |share: f64| format!("width: {:.1}%", share / largest * 100.0);
    view! {
        <div class="share-chart" data-testid=testid>
            <p class="chart-legend">
                <span class="swatch swatch-first"></span>{first.clone()}
                <span class="swatch swatch-second"></span>{second.clone()}
            </p>
            <table class="share-table">
                <thead>
                    <tr>
                        <th scope="col">{value_header}</th>
                        <th scope="col"><span class="visually-hidden">"Bars"</span></th>
                        <th scope="col" class="num">{first}</th>
                        <th scope="col" class="num">{second}</th>
                        <th scope="col" class="num">"Lift"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| {
                        let high = row.lift.is_some_and(|lift| lift >= 1.5);
                        view! {
                            <tr title=row.detail.clone()>
                                <th scope="row">{row.label.clone()}</th>
                                <td class="bars" aria-hidden="true">
                                    <div class="bar bar-first" style=width(row.first)></div>
                                    <div class="bar bar-second" style=width(row.second)></div>
                                </td>
                                <td class="num">{percent(row.first)}</td>
                                <td class="num">{percent(row.second)}</td>
                                <td class="num" class:lift-high=high>{lift_text(row.lift)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
