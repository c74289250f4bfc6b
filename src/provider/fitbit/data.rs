//! The data reads of a sync, over the date ranges a sync asks for: weight logs range by range, the sleep and activity
//! lists page by page as a stream (following `pagination.next`, docs/decisions.md#sync-windows), and the daily series.

use chrono::NaiveDate;
use futures::stream::{self, Stream};
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
    /// The weight logs from `from` to `to` (both included; at most Fitbit's 31 days).
    pub async fn weights(&self, token: &str, from: NaiveDate, to: NaiveDate) -> Result<Vec<Value>, ProviderError> {
        let body = self.get(&format!("/body/log/weight/date/{from}/{to}.json"), token).await?;
        Ok(array(body, "weight"))
    }

    /// The sleep or activity logs from `from` (included) to now, oldest first, one page at a time. The stream ends
    /// after an error.
    pub fn log_list<'a>(
        &'a self,
        token: &'a str,
        list: LogList,
        from: NaiveDate,
    ) -> impl Stream<Item = Result<Vec<Value>, ProviderError>> + 'a {
        let first = format!("/{}/list.json?afterDate={from}&sort=asc&offset=0&limit={PAGE_SIZE}", list.name());
        stream::try_unfold((Some(first), 0), move |(next, pages)| async move {
            let Some(next) = next else { return Ok(None) };
            if pages == MAX_PAGES {
                tracing::warn!(
                    "Fitbit {} list still had pages after {MAX_PAGES}; the rest waits for the next sync",
                    list.name()
                );
                return Ok(None);
            }
            let body = self.get(&next, token).await?;
            let link = body.pointer("/pagination/next").and_then(Value::as_str).unwrap_or_default().to_string();
            let page = array(body, list.name());
            let next = Some(link).filter(|link| !link.is_empty() && !page.is_empty());
            Ok(Some((page, (next, pages + 1))))
        })
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
