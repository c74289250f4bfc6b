//! The data reads of a sync (§8.1), over the date ranges a sync asks for: weight logs range by range, the sleep and
//! activity lists page by page (following `pagination.next`, decisions #13), and the daily series.

use chrono::NaiveDate;
use futures::future::try_join_all;
use serde_json::Value;

use super::FitbitClient;
use crate::provider::ProviderError;

/// A list that Fitbit pages: sleep or activity logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogList {
    Sleep,
    Activities,
}

impl LogList {
    fn name(self) -> &'static str {
        match self {
            LogList::Sleep => "sleep",
            LogList::Activities => "activities",
        }
    }
}

/// Fitbit's largest page.
const PAGE_SIZE: u32 = 100;
/// A bound on pages per list, so a provider that keeps linking never holds a sync forever (12 months of logs at 100
/// a page is far below it).
const MAX_PAGES: usize = 100;

impl FitbitClient {
    /// Weight logs of every range, concatenated in order; any failed range fails the whole read.
    pub async fn weights(&self, token: &str, ranges: &[(NaiveDate, NaiveDate)]) -> Result<Vec<Value>, ProviderError> {
        let reads = ranges.iter().map(|(from, to)| async move {
            let body = self.get(&format!("/body/log/weight/date/{from}/{to}.json"), token).await?;
            Ok::<_, ProviderError>(array(body, "weight"))
        });
        Ok(try_join_all(reads).await?.into_iter().flatten().collect())
    }

    /// Every sleep or activity log from `from` (included) to now, oldest first.
    pub async fn log_list(&self, token: &str, list: LogList, from: NaiveDate) -> Result<Vec<Value>, ProviderError> {
        let mut next = format!("/{}/list.json?afterDate={from}&sort=asc&offset=0&limit={PAGE_SIZE}", list.name());
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let body = self.get(&next, token).await?;
            let link = body.pointer("/pagination/next").and_then(Value::as_str).unwrap_or_default().to_string();
            let page = array(body, list.name());
            let last_page = page.is_empty() || link.is_empty();
            items.extend(page);
            if last_page {
                return Ok(items);
            }
            next = link;
        }
        tracing::warn!(
            "Fitbit {} list still had pages after {MAX_PAGES}; the rest waits for the next sync",
            list.name()
        );
        Ok(items)
    }

    /// A daily series (`steps`, `calories`, `minutesSedentary`, …) from `from` to Fitbit's today.
    pub async fn series(&self, token: &str, resource: &str, from: NaiveDate) -> Result<Vec<Value>, ProviderError> {
        let body = self.get(&format!("/activities/tracker/{resource}/date/{from}/today.json"), token).await?;
        Ok(array(body, &format!("activities-tracker-{resource}")))
    }
}

/// The body's named array; a missing one is "no data", as the original read it.
fn array(mut body: Value, key: &str) -> Vec<Value> {
    match body.get_mut(key).map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}
