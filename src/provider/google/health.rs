//! The Health API reads of a sync (google-health-api.md §1.4 and §1.7): `list` with civil-time filters, following
//! `nextPageToken` (pages may be empty and still carry one), and `dailyRollUp` in chunks within each type's range
//! limit.

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{json, Value};

use super::GoogleClient;
use crate::provider::ProviderError;

/// A bound on pages per read, so a provider that keeps linking never holds a sync forever (12 months of exercise at
/// 25 a page is far below it).
const MAX_PAGES: usize = 400;

impl GoogleClient {
    /// Every data point of `data_type` from `from` (a civil date, included) on, oldest first.
    pub async fn list(&self, token: &str, data_type: &str, from: NaiveDate) -> Result<Vec<Value>, ProviderError> {
        let field = match data_type {
            "exercise" => "exercise.interval.civil_start_time",
            // Sleep is filtered on its end, as Fitbit placed a night on its wake-up date.
            "sleep" => "sleep.interval.civil_end_time",
            "body-fat" => "body_fat.sample_time.civil_time",
            other => {
                return self
                    .list_filtered(token, data_type, &format!("{other}.sample_time.civil_time >= \"{from}\""))
                    .await
            }
        };
        self.list_filtered(token, data_type, &format!("{field} >= \"{from}\"")).await
    }

    async fn list_filtered(&self, token: &str, data_type: &str, filter: &str) -> Result<Vec<Value>, ProviderError> {
        let url = format!("{}/v4/users/me/dataTypes/{data_type}/dataPoints", self.health_url);
        let mut points = Vec::new();
        let mut page_token = String::new();
        for _ in 0..MAX_PAGES {
            let mut request = reqwest::Url::parse(&url).expect("the configured base URL was checked at startup");
            request.query_pairs_mut().append_pair("filter", filter);
            if !page_token.is_empty() {
                request.query_pairs_mut().append_pair("pageToken", &page_token);
            }
            let mut body = self.get(request.as_str(), token).await?;
            if let Some(Value::Array(page)) = body.get_mut("dataPoints").map(Value::take) {
                points.extend(page);
            }
            page_token = body.get("nextPageToken").and_then(Value::as_str).unwrap_or_default().to_string();
            if page_token.is_empty() {
                points.reverse(); // newest first on the wire
                return Ok(points);
            }
        }
        tracing::warn!("Google {data_type} list still had pages after {MAX_PAGES}; the rest waits for the next sync");
        points.reverse();
        Ok(points)
    }

    /// Daily buckets of `data_type` from `from` to `to`, both included, oldest first.
    pub async fn daily_roll_up(
        &self,
        token: &str,
        data_type: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Value>, ProviderError> {
        let url = format!("{}/v4/users/me/dataTypes/{data_type}/dataPoints:dailyRollUp", self.health_url);
        let mut buckets = Vec::new();
        let mut start = from;
        while start <= to {
            let end = (start + Duration::days(max_range_days(data_type))).min(to + Duration::days(1));
            let body = json!({"range": {"start": civil(start), "end": civil(end)}, "windowSizeDays": 1});
            let mut answer = self.post(&url, token, &body).await?;
            if let Some(Value::Array(chunk)) = answer.get_mut("rollupDataPoints").map(Value::take) {
                buckets.extend(chunk);
            }
            start = end;
        }
        Ok(buckets)
    }
}

/// dailyRollUp's range limit (§1.7): 14 days for the calorie and active-minutes family, 90 otherwise.
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
