//! What a sync reads is one catalog per provider (`Provider::feeds`, docs/ARCHITECTURE.md#adding-a-data-type). These
//! tests make a place forgotten when a data type is added fail here, not in a sync: the catalogs cover every resource
//! kind and every log type once, the 200 body counts every log type, the metrics pre-create a label for every kind,
//! and the simulator serves every Google data type the sync reads, under the same names and keys.

use std::collections::BTreeSet;

use ds_agent::domain::ocariot::LogType;
use ds_agent::domain::{Part, ResourceKind};
use ds_agent::provider::google::{GoogleDataType, SYNCED_TYPES};
use ds_agent::provider::{fitbit, google};

#[test]
fn each_catalog_reads_every_resource_kind_and_every_log_type_once() {
    for (provider, feeds) in [("fitbit", fitbit::FEEDS), ("google", google::FEEDS)] {
        for kind in ResourceKind::ALL {
            let parts = feeds.iter().filter(|feed| feed.part == Part::Resource(kind)).count();
            assert_eq!(parts, 1, "{provider}: {kind:?}");
        }
        for log_type in LogType::ALL {
            let parts = feeds.iter().filter(|feed| feed.part.log_types().contains(&log_type)).count();
            assert_eq!(parts, 1, "{provider}: {log_type:?} must be read by exactly one log part");
        }
        assert!(feeds.iter().all(|feed| !feed.scope.is_empty()), "{provider}: every part has its scope");
    }
}

#[test]
fn every_google_data_type_the_sync_reads_is_in_the_catalog_and_served_by_the_simulator() {
    let served: Vec<(&str, &str, bool)> = provider_sim::served_data_types().collect();
    for &data_type in GoogleDataType::ALL {
        assert!(google::FEEDS.iter().any(|feed| feed.part == data_type.part()), "{data_type:?} has no part");
        let (_, key, rolls_up) = served
            .iter()
            .find(|(name, _, _)| *name == data_type.name())
            .unwrap_or_else(|| panic!("the simulator does not serve {}", data_type.name()));
        if !data_type.log_types().is_empty() {
            assert!(rolls_up, "{} is read by dailyRollUp", data_type.name());
            assert_eq!(*key, data_type.rollup_key(), "{}", data_type.name());
        }
    }
    let names: BTreeSet<&str> = GoogleDataType::ALL.iter().map(|data_type| data_type.name()).collect();
    assert_eq!(names, SYNCED_TYPES.into_iter().collect(), "notifications name what the sync reads");
}

#[test]
fn the_sync_answer_and_the_metrics_name_every_kind() {
    let counts = serde_json::to_value(ds_agent::sync::SyncCounts::default()).unwrap();
    for kind in ResourceKind::ALL {
        assert!(counts.get(kind.name()).is_some(), "the 200 body counts {}", kind.name());
    }
    for log_type in LogType::ALL {
        assert!(counts["logs"].get(log_type.name()).is_some(), "the 200 body counts {}", log_type.name());
    }
    let metrics = ds_agent::metrics::get().render();
    for kind in ResourceKind::ALL.map(ResourceKind::name).into_iter().chain([ds_agent::metrics::LOGS_KIND]) {
        assert!(metrics.contains(&format!("ds_agent_items_published_total{{kind=\"{kind}\"}}")), "{kind}");
    }
}
