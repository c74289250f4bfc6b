//! The Health API reads of a sync (docs/google-health.md#reconcile and docs/google-health.md#daily-rollups), as streams
//! of pages so that a sync holds one page at a time: `reconcile` with civil-time filters, following `nextPageToken`
//! (pages may be empty and still carry one), and `dailyRollUp` in chunks within each type's range limit. `reconcile`
//! rather than `list`: `list` answers each data source separately (tracker, phone, manual entry), so one walk recorded
//! by two devices would be two activities; `reconcile` is the merged stream the Fitbit app shows. Every read is paced
//! within the child's budget, and takes its part's page slot only once its turn has come.

use chrono::{Datelike, Duration, NaiveDate};
use futures::stream::{self, Stream};
use serde_json::{json, Value};

use super::{GoogleClient, PacedRead};
use crate::provider::ProviderError;

/// A bound on pages per read, so a provider that keeps linking never holds a sync forever (12 months of exercise at
/// 25 a page is far below it).
const MAX_PAGES: usize = 400;
/// Every source, as the Fitbit app shows them (the API's default, said out loud).
const ALL_SOURCES: &str = "users/me/dataSourceFamilies/all-sources";

/// Where a paged read stands: the next page's token, once the first page is read.
struct Paging {
    next: Option<String>,
    pages: usize,
}

impl GoogleClient {
    /// The reconciled data points of `data_type` from `from` (a civil date, included) up to `until` (excluded, if
    /// given), one page at a time and newest first, as Google sends them, each read paced as `read` says. The stream
    /// ends after an error.
    pub fn reconcile<'a>(
        &'a self,
        token: &'a str,
        read: PacedRead<'a>,
        data_type: &'a str,
        from: NaiveDate,
        until: Option<NaiveDate>,
    ) -> impl Stream<Item = Result<Vec<Value>, ProviderError>> + 'a {
        let field = match data_type {
            "exercise" => "exercise.interval.civil_start_time".to_string(),
            // Sleep is filtered on its end, as Fitbit placed a night on its wake-up date.
            "sleep" => "sleep.interval.civil_end_time".to_string(),
            sample => format!("{}.sample_time.civil_time", sample.replace('-', "_")),
        };
        let mut filter = format!("{field} >= \"{from}\"");
        if let Some(until) = until {
            filter.push_str(&format!(" AND {field} < \"{until}\""));
        }
        let url = self.health_api.endpoint(&format!("v4/users/me/dataTypes/{data_type}/dataPoints:reconcile"));
        stream::try_unfold(Paging { next: None, pages: 0 }, move |paging| {
            let (url, filter) = (url.clone(), filter.clone());
            async move {
                if paging.next.as_deref() == Some("") {
                    return Ok(None);
                }
                if paging.pages == MAX_PAGES {
                    tracing::warn!(
                        "Google {data_type} reads still had pages after {MAX_PAGES}; the rest waits for the next sync"
                    );
                    return Ok(None);
                }
                let mut request = url;
                request.query_pairs_mut().append_pair("filter", &filter);
                // Google documents no data source family for sleep reads; left out, all sources is the default.
                if data_type != "sleep" {
                    request.query_pairs_mut().append_pair("dataSourceFamily", ALL_SOURCES);
                }
                if let Some(page_token) = &paging.next {
                    request.query_pairs_mut().append_pair("pageToken", page_token);
                }
                let mut body = self.health_call(Some(read), token, || self.http.get(request.as_str())).await?;
                let points = list_field(&mut body, "dataPoints");
                let next = body.get("nextPageToken").and_then(Value::as_str).unwrap_or_default().to_string();
                Ok(Some((points, Paging { next: Some(next), pages: paging.pages + 1 })))
            }
        })
    }

    /// Daily buckets of `data_type` from `from` to `to`, both included, oldest first, one chunk of the type's range
    /// limit at a time, each read paced as `read` says. The stream ends after an error.
    pub fn daily_roll_up<'a>(
        &'a self,
        token: &'a str,
        read: PacedRead<'a>,
        data_type: &'a str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Stream<Item = Result<Vec<Value>, ProviderError>> + 'a {
        let url = self.health_api.endpoint(&format!("v4/users/me/dataTypes/{data_type}/dataPoints:dailyRollUp"));
        stream::try_unfold(from, move |start| {
            let url = url.clone();
            async move {
                if start > to {
                    return Ok(None);
                }
                let end = (start + Duration::days(max_range_days(data_type))).min(to + Duration::days(1));
                let body = json!({"range": {"start": civil(start), "end": civil(end)}, "windowSizeDays": 1});
                let mut answer =
                    self.health_call(Some(read), token, || self.http.post(url.clone()).json(&body)).await?;
                Ok(Some((list_field(&mut answer, "rollupDataPoints"), end)))
            }
        })
    }
}

/// A repeated field of an answer. Lenient (docs/google-health.md#tolerance): a single object where a list belongs is a
/// list of one, and an absent or null field is empty (proto3 JSON leaves empty lists out).
fn list_field(body: &mut Value, key: &str) -> Vec<Value> {
    match body.get_mut(key).map(Value::take) {
        Some(Value::Array(items)) => items,
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

/// dailyRollUp's range limit (docs/google-health.md#daily-rollups): 14 days for the calorie and active-minutes family,
/// 90 otherwise.
fn max_range_days(data_type: &str) -> i64 {
    match data_type {
        "total-calories" | "active-minutes" | "heart-rate" | "calories-in-heart-rate-zone" => 14,
        _ => 90,
    }
}

/// A `CivilDateTime` at midnight; month and day as plain integers (zero-padded ones are invalid JSON to Google).
fn civil(date: NaiveDate) -> Value {
    json!({"date": {"year": date.year(), "month": date.month(), "day": date.day()}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_may_come_as_one_object_or_not_at_all() {
        let mut body = json!({"dataPoints": {"dataPointName": "a"}});
        assert_eq!(list_field(&mut body, "dataPoints"), [json!({"dataPointName": "a"})]);
        let mut body = json!({"dataPoints": [{"dataPointName": "a"}, {"dataPointName": "b"}]});
        assert_eq!(list_field(&mut body, "dataPoints").len(), 2);
        assert!(list_field(&mut json!({"nextPageToken": "x"}), "dataPoints").is_empty());
        assert!(list_field(&mut json!({"dataPoints": null}), "dataPoints").is_empty());
        assert!(list_field(&mut json!({}), "rollupDataPoints").is_empty());
    }
}
