//! Google OAuth and the Google Health API, served by the same simulator as the legacy Fitbit API and from the same
//! synthetic person.

mod common;

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, Timelike};
use common::google::*;
use common::*;
use provider_sim::{
    dataset, google_dataset, health_user_id, phone_exercise_days, Fault, FaultKind, GoogleCounts, Route, SimConfig,
    Simulator, GOOGLE_HEALTH_SCOPES,
};
use serde_json::{json, Value};

const CLIENT_ID: &str = "sim-google-client.apps.googleusercontent.com";
const CLIENT_SECRET: &str = "sim-google-secret";
const REDIRECT: &str = "http://localhost:9/google/callback";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The query of the consent page's redirect.
async fn consent(sim: &Simulator, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut query = vec![
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", GOOGLE_HEALTH_SCOPES),
        ("state", "st4te"),
        ("access_type", "offline"),
        ("prompt", "consent"),
        ("include_granted_scopes", "true"),
    ];
    query.extend_from_slice(extra);
    let response =
        no_redirects().get(format!("{}/o/oauth2/v2/auth", sim.base_url())).query(&query).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let (base, query) = location.split_once('?').expect("a query");
    assert_eq!(base, REDIRECT);
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

async fn token(sim: &Simulator, form: &[(&str, &str)]) -> reqwest::Response {
    client().post(format!("{}/token", sim.base_url())).form(form).send().await.unwrap()
}

async fn exchange(sim: &Simulator, code: &str) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ];
    token(sim, &form).await
}

/// A refresh with the client in an HTTP Basic header.
async fn google_refresh(sim: &Simulator, refresh_token: &str) -> reqwest::Response {
    client()
        .post(format!("{}/token", sim.base_url()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_consent_page_redirects_with_a_code_that_works_once() {
    let sim = start().await;
    let redirect = consent(&sim, &[("login_hint", &format!("{USER}@example.com"))]).await;
    assert_eq!(redirect["state"], "st4te");
    assert_eq!(redirect["scope"], GOOGLE_HEALTH_SCOPES);
    let code = &redirect["code"];

    let response = exchange(&sim, code).await;
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], GOOGLE_HEALTH_SCOPES);
    assert!(body.get("refresh_token_expires_in").is_none(), "production grants do not expire");
    let access = body["access_token"].as_str().unwrap();
    let refresh_token = body["refresh_token"].as_str().unwrap();
    assert!(access.starts_with("ya29.") && refresh_token.starts_with("1//"));
    assert!(sim.is_google_access_token_active(access) && sim.is_google_refresh_token_valid(refresh_token));
    assert!(!sim.is_access_token_active(access), "Google tokens are not Fitbit tokens");

    let replay = json(exchange(&sim, code).await).await;
    assert_eq!(replay["error"], "invalid_grant");

    let identity = json(health_get(&sim, access, "identity", &[]).await).await;
    assert_eq!(
        identity,
        json!({"name": "users/me/identity", "healthUserId": health_user_id(USER), "legacyUserId": USER})
    );
    assert_eq!(
        sim.google_counts(USER),
        GoogleCounts { refresh: 0, code_exchange: 2, revoke: 0, tokeninfo: 0, consent: 1, data: 1, rate_limited: 0 }
    );
    assert_eq!(sim.google_data_requests(USER), vec!["GET /v4/users/me/identity".to_string()]);
}

#[tokio::test]
async fn consent_variants_denial_partial_grants_online_access_and_pkce() {
    let sim = start_with(SimConfig { google_default_user: "DEFAULT1".into(), ..SimConfig::default() }).await;

    let denied = consent(&sim, &[("sim_deny", "true")]).await;
    assert_eq!((denied["error"].as_str(), denied["state"].as_str()), ("access_denied", "st4te"));
    assert!(!denied.contains_key("code"));

    let sleep_only = scope("sleep");
    let partial = consent(&sim, &[("sim_scope", &sleep_only)]).await;
    assert_eq!(partial["scope"], sleep_only);
    let wrong_redirect = [
        ("grant_type", "authorization_code"),
        ("code", partial["code"].as_str()),
        ("redirect_uri", "http://localhost:9/elsewhere"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ];
    let response = token(&sim, &wrong_redirect).await;
    assert_eq!(response.status(), 400);
    assert_eq!(json(response).await["error"], "invalid_grant");

    let partial = consent(&sim, &[("sim_scope", &sleep_only)]).await;
    let body = json(exchange(&sim, &partial["code"]).await).await;
    assert_eq!(body["scope"], sleep_only);
    let access = body["access_token"].as_str().unwrap();
    let identity = json(health_get(&sim, access, "identity", &[]).await).await;
    assert_eq!(identity["legacyUserId"], "DEFAULT1", "without login_hint the default user signs in");
    let (code, status_name, reason) = status(list(&sim, access, "exercise", &[]).await).await;
    assert_eq!(
        (code, status_name.as_str(), reason.as_str()),
        (403, "PERMISSION_DENIED", "ACCESS_TOKEN_SCOPE_INSUFFICIENT")
    );

    let online = consent(&sim, &[("access_type", "online")]).await;
    let body = json(exchange(&sim, &online["code"]).await).await;
    assert!(body["access_token"].is_string() && body.get("refresh_token").is_none());

    // RFC 7636's example verifier and challenge.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let pkce = [("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), ("code_challenge_method", "S256")];
    let code = consent(&sim, &pkce).await["code"].clone();
    assert_eq!(json(exchange(&sim, &code).await).await["error"], "invalid_grant", "the verifier is required");
    let code = consent(&sim, &pkce).await["code"].clone();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ];
    assert_eq!(token(&sim, &form).await.status(), 200);

    let bad_client = no_redirects()
        .get(format!("{}/o/oauth2/v2/auth", sim.base_url()))
        .query(&[("client_id", "nope"), ("redirect_uri", REDIRECT), ("response_type", "code"), ("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_client.status(), 401);
    let bad_scope = no_redirects()
        .get(format!("{}/o/oauth2/v2/auth", sim.base_url()))
        .query(&[
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "https://www.googleapis.com/auth/health.sleep.readonly"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_scope.status(), 400);
}

#[tokio::test]
async fn refresh_tokens_do_not_rotate() {
    let sim = start().await;
    let pair = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599);
    let mut access_tokens = vec![pair.access_token.clone()];
    for _ in 0..2 {
        let response = google_refresh(&sim, &pair.refresh_token).await;
        assert_eq!(response.status(), 200);
        let body = json(response).await;
        assert!(body.get("refresh_token").is_none(), "{body}");
        assert_eq!(body["expires_in"], 3599);
        assert_eq!(body["scope"], GOOGLE_HEALTH_SCOPES);
        assert_eq!(body["token_type"], "Bearer");
        access_tokens.push(body["access_token"].as_str().unwrap().to_string());
    }
    assert!(sim.is_google_refresh_token_valid(&pair.refresh_token));
    for access in &access_tokens {
        assert_eq!(health_get(&sim, access, "identity", &[]).await.status(), 200, "old access tokens live on");
    }

    let form_client = [
        ("grant_type", "refresh_token"),
        ("refresh_token", pair.refresh_token.as_str()),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ];
    assert_eq!(token(&sim, &form_client).await.status(), 200);
    let wrong_secret = [("client_secret", "nope"), ("client_id", CLIENT_ID), form_client[0], form_client[1]];
    let response = token(&sim, &wrong_secret).await;
    assert_eq!(response.status(), 401);
    assert_eq!(json(response).await["error"], "invalid_client");
    let unknown = json(google_refresh(&sim, "1//nope").await).await;
    assert_eq!(unknown, json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}));
    let unsupported = json(
        token(&sim, &[("grant_type", "password"), ("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)]).await,
    )
    .await;
    assert_eq!(unsupported["error"], "unsupported_grant_type");
    assert_eq!(sim.google_counts(USER).refresh, 4);
    assert_eq!(sim.counts(USER).refresh, 0, "Fitbit's counts are apart");
}

#[tokio::test]
async fn time_limited_refresh_tokens_report_and_reach_their_end() {
    let sim = start_with(SimConfig { google_refresh_token_ttl_secs: Some(604_800), ..SimConfig::default() }).await;
    let body = json(exchange(&sim, &consent(&sim, &[]).await["code"]).await).await;
    assert!((604_790..=604_800).contains(&body["refresh_token_expires_in"].as_i64().unwrap()));
    let refreshed = json(google_refresh(&sim, body["refresh_token"].as_str().unwrap()).await).await;
    assert!(refreshed["refresh_token_expires_in"].as_i64().unwrap() <= 604_800);

    let dead = start_with(SimConfig { google_refresh_token_ttl_secs: Some(0), ..SimConfig::default() }).await;
    let pair = dead.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599);
    assert_eq!(json(google_refresh(&dead, &pair.refresh_token).await).await["error"], "invalid_grant");
}

#[tokio::test]
async fn revoking_ends_the_consent() {
    let sim = start().await;
    let pair = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599);
    let other = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599);
    let revoke_url = format!("{}/revoke", sim.base_url());

    let response = client().post(&revoke_url).form(&[("token", &pair.access_token)]).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(!sim.is_google_refresh_token_valid(&pair.refresh_token), "revoking the access token revokes the grant");
    assert_eq!(json(google_refresh(&sim, &pair.refresh_token).await).await["error"], "invalid_grant");
    let (code, status_name, _) = status(health_get(&sim, &pair.access_token, "identity", &[]).await).await;
    assert_eq!((code, status_name.as_str()), (401, "UNAUTHENTICATED"));
    let again = client().post(&revoke_url).form(&[("token", &pair.refresh_token)]).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert_eq!(json(again).await["error"], "invalid_token");

    assert!(sim.is_google_access_token_active(&other.access_token), "another consent survives");
    let by_query = client().post(&revoke_url).query(&[("token", &other.refresh_token)]).send().await.unwrap();
    assert_eq!(by_query.status(), 200);
    assert!(!sim.is_google_access_token_active(&other.access_token));
    assert_eq!(sim.google_counts(USER).revoke, 3);
}

#[tokio::test]
async fn tokeninfo_describes_live_access_tokens_only() {
    let sim = start().await;
    let pair = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599);
    let expired = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, -5);
    let url = format!("{}/tokeninfo", sim.base_url());

    let response = client().get(&url).query(&[("access_token", &pair.access_token)]).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let info = json(response).await;
    assert_eq!((info["aud"].as_str(), info["azp"].as_str()), (Some(CLIENT_ID), Some(CLIENT_ID)));
    assert_eq!(info["scope"], GOOGLE_HEALTH_SCOPES);
    assert_eq!(info["access_type"], "offline");
    assert_eq!(info["exp"], pair.expires_at.to_string());
    let expires_in: i64 = info["expires_in"].as_str().unwrap().parse().unwrap();
    assert!((3590..=3599).contains(&expires_in));
    assert_eq!(info["sub"].as_str().unwrap().len(), 21);

    for token in [expired.access_token.as_str(), pair.refresh_token.as_str(), "ya29.unknown"] {
        let response = client().get(&url).query(&[("access_token", token)]).send().await.unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(json(response).await["error"], "invalid_token");
    }
    assert_eq!(sim.google_counts(USER).tokeninfo, 3, "the unknown token belongs to nobody");

    // As Google does, POST with the token in a form body (kept out of URLs) says the same.
    let posted = client().post(&url).form(&[("access_token", &pair.access_token)]).send().await.unwrap();
    assert_eq!(posted.status(), 200);
    assert_eq!(json(posted).await["exp"], pair.expires_at.to_string());
    let posted = client().post(&url).form(&[("access_token", &expired.access_token)]).send().await.unwrap();
    assert_eq!(posted.status(), 400);
    assert_eq!(sim.google_counts(USER).tokeninfo, 5);
}

#[tokio::test]
async fn exercise_pages_follow_page_tokens_newest_first() {
    let sim = start().await;
    let token = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599).access_token;
    let (from, to) = (today() - Duration::days(120), today() + Duration::days(1));
    let filter = between("exercise.interval.civil_start_time", from, to);

    let (points, pages) = walk(&sim, &token, "exercise", &[("filter", &filter), ("pageSize", "100")]).await;
    assert!(points.len() > 25, "four months of activities: {}", points.len());
    assert_eq!(pages, points.len().div_ceil(25), "pages of at most 25 exercises");
    // The phone's walks are another source, which google_dataset leaves out.
    let (points, phone): (Vec<Value>, Vec<Value>) =
        points.into_iter().partition(|point| point["dataSource"]["platform"] == "FITBIT");
    assert_eq!(phone.len(), phone_exercise_days(USER, from, today()).len());
    let mut expected = google_dataset(USER, from, today()).points["exercise"].clone();
    expected.reverse();
    assert_eq!(points, expected);

    let activities = dataset(USER, from, today()).activities;
    let mut log_ids: Vec<String> = activities.iter().map(|a| a["logId"].to_string()).collect();
    log_ids.reverse();
    assert_eq!(points.iter().map(|p| id_of(p).to_string()).collect::<Vec<_>>(), log_ids, "ids are Fitbit log ids");
    for (point, activity) in points.iter().zip(activities.iter().rev()) {
        let exercise = &point["exercise"];
        assert_eq!(
            point["name"],
            format!("users/{}/dataTypes/exercise/dataPoints/{}", health_user_id(USER), activity["logId"])
        );
        assert_eq!(exercise["displayName"], activity["activityName"]);
        assert_eq!(exercise["metricsSummary"]["caloriesKcal"].as_f64(), activity["calories"].as_f64());
        assert_eq!(
            exercise["metricsSummary"]["steps"].as_str().map(str::to_string),
            activity.get("steps").map(|s| s.to_string())
        );
        if let Some(km) = activity["distance"].as_f64() {
            assert_eq!(exercise["metricsSummary"]["distanceMillimeters"].as_f64(), Some((km * 1e6).round()));
        }
        assert_eq!(exercise["activeDuration"], format!("{}s", activity["activeDuration"].as_i64().unwrap() / 1000));
        let start = activity["startTime"].as_str().unwrap();
        let civil = &exercise["interval"]["civilStartTime"];
        assert_eq!(civil["date"]["day"].as_u64().unwrap(), start[8..10].parse::<u64>().unwrap());
        assert_eq!(exercise["interval"]["startUtcOffset"], "-10800s");
        assert_eq!(civil["time"]["hours"].as_u64().unwrap_or(0), start[11..13].parse::<u64>().unwrap());
    }

    let first = json(list(&sim, &token, "exercise", &[("filter", &filter), ("pageSize", "10")]).await).await;
    assert_eq!(first["dataPoints"].as_array().unwrap().len(), 10);
    let next = first["nextPageToken"].as_str().unwrap();
    let other_filter = between("exercise.interval.civil_start_time", from, today());
    let mismatch =
        list(&sim, &token, "exercise", &[("filter", &other_filter), ("pageSize", "10"), ("pageToken", next)]).await;
    assert_eq!(status(mismatch).await.0, 400, "a token belongs to its request");
}

#[tokio::test]
async fn sleep_and_empty_first_pages() {
    let sim = start().await;
    let token = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599).access_token;
    let (from, to) = (today() - Duration::days(29), today() + Duration::days(1));
    let filter = between("sleep.interval.civil_end_time", from, to);
    sim.set_google_empty_first_page(true);

    let first = json(list(&sim, &token, "sleep", &[("filter", &filter)]).await).await;
    assert!(first.get("dataPoints").is_none() && first["nextPageToken"].is_string(), "{first}");
    let (nights, pages) = walk(&sim, &token, "sleep", &[("filter", &filter)]).await;
    assert_eq!((nights.len(), pages), (30, 3), "an empty page, then 25 and 5 nights");
    let fitbit = dataset(USER, from, today()).sleep;
    for (night, log) in nights.iter().zip(fitbit.iter().rev()) {
        let sleep = &night["sleep"];
        let id = id_of(night);
        assert!(id.len() == 36 && id.ends_with(&format!("{:012}", log["logId"].as_i64().unwrap())), "{id}");
        assert_eq!(sleep["type"], if log["type"] == "stages" { "STAGES" } else { "CLASSIC" });
        assert_eq!(sleep["summary"]["minutesAsleep"], log["minutesAsleep"].to_string());
        assert_eq!(sleep["summary"]["minutesInSleepPeriod"], log["timeInBed"].to_string());
        let stage_seconds: i64 = sleep["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let at = |k: &str| chrono::DateTime::parse_from_rfc3339(s[k].as_str().unwrap()).unwrap();
                (at("endTime") - at("startTime")).num_seconds()
            })
            .sum();
        assert_eq!(stage_seconds * 1000, log["duration"].as_i64().unwrap(), "stages cover the night");
        assert_eq!(sleep["interval"]["endTime"], format!("{}Z", &log["endTime"].as_str().unwrap()[..19]));
    }
}

#[tokio::test]
async fn weights_and_body_fat_equal_the_fitbit_weight_logs() {
    let sim = start().await;
    let token = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599).access_token;
    let (from, to) = (today() - Duration::days(60), today() + Duration::days(1));
    let logs = dataset(USER, from, today()).weight;
    assert!(logs.len() >= 10);

    let (weights, _) =
        walk(&sim, &token, "weight", &[("filter", &between("weight.sample_time.civil_time", from, to))]).await;
    assert_eq!(weights.len(), logs.len());
    for (point, log) in weights.iter().zip(logs.iter().rev()) {
        assert_eq!(id_of(point), log["logId"].to_string(), "the id is the Fitbit log id");
        let grams = point["weight"]["weightGrams"].as_f64().unwrap();
        assert!((grams - log["weight"].as_f64().unwrap() * 1000.0).abs() < 0.01, "{grams} vs {log}");
        let sample = &point["weight"]["sampleTime"];
        assert_eq!(
            sample["physicalTime"],
            format!("{}T{}Z", log["date"].as_str().unwrap(), log["time"].as_str().unwrap())
        );
        assert_eq!(sample["utcOffset"], "0s");
    }

    let physical = format!("body_fat.sample_time.physical_time >= \"{from}T00:00:00Z\"");
    let (fats, _) = walk(&sim, &token, "body-fat", &[("filter", &physical)]).await;
    let with_fat: Vec<&Value> = logs.iter().rev().filter(|log| log.get("fat").is_some()).collect();
    assert!(!with_fat.is_empty() && with_fat.len() < logs.len());
    assert_eq!(fats.len(), with_fat.len());
    for (point, log) in fats.iter().zip(with_fat) {
        assert_eq!(id_of(point), log["logId"].to_string());
        assert_eq!(point["bodyFat"]["percentage"], log["fat"]);
    }

    let rollup = json(daily_roll_up(&sim, &token, "weight", from, to).await).await;
    let buckets = rollup["rollupDataPoints"].as_array().unwrap();
    assert_eq!(buckets.len(), logs.len(), "one weigh-in a day at most");
    assert!(
        (buckets[0]["weight"]["weightGramsAvg"].as_f64().unwrap() - logs[0]["weight"].as_f64().unwrap() * 1000.0).abs()
            < 0.01
    );
}

#[tokio::test]
async fn daily_rollups_equal_the_fitbit_series() {
    let sim = start().await;
    let token = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599).access_token;
    let (from, to) = (today() - Duration::days(13), today() + Duration::days(1));
    let series = dataset(USER, from, today()).series;
    let day_of = |bucket: &Value| {
        let date = &bucket["civilStartTime"]["date"];
        let day = |key: &str| date[key].as_u64().unwrap() as u32;
        NaiveDate::from_ymd_opt(day("year") as i32, day("month"), day("day")).unwrap()
    };
    let fitbit = |resource: &str, day: NaiveDate| -> i64 {
        let entry = series[resource].iter().find(|e| e["dateTime"] == day.to_string()).unwrap();
        entry["value"].as_str().unwrap().parse().unwrap()
    };
    let worn = |day: NaiveDate| !(fitbit("steps", day) == 0 && fitbit("minutesSedentary", day) == 1440);

    for data_type in ["steps", "total-calories", "active-minutes", "sedentary-period"] {
        let response = daily_roll_up(&sim, &token, data_type, from, to).await;
        assert_eq!(response.status(), 200, "{data_type}");
        let body = json(response).await;
        let buckets = body["rollupDataPoints"].as_array().unwrap();
        let days: Vec<NaiveDate> = buckets.iter().map(day_of).collect();
        let worn_days: Vec<NaiveDate> = from.iter_days().take(14).filter(|d| worn(*d)).collect();
        assert_eq!(days, worn_days, "{data_type}: one bucket per worn day, oldest first");
        for bucket in buckets {
            let day = day_of(bucket);
            assert_eq!(
                bucket["civilEndTime"],
                json!({"date": civil_date(day + Duration::days(1))["date"], "time": {}})
            );
            // Proto3 leaves zero sums out: an absent sum is a zero.
            let int64 = |value: &Value| value.as_str().map_or(0, |n| n.parse::<i64>().unwrap());
            match data_type {
                "steps" => assert_eq!(int64(&bucket["steps"]["countSum"]), fitbit("steps", day)),
                "total-calories" => {
                    assert_eq!(bucket["totalCalories"]["kcalSum"].as_f64().unwrap(), fitbit("calories", day) as f64)
                }
                "active-minutes" => {
                    let levels = bucket["activeMinutes"]["activeMinutesRollupByActivityLevel"].as_array();
                    for (level, resource) in [
                        ("LIGHT", "minutesLightlyActive"),
                        ("MODERATE", "minutesFairlyActive"),
                        ("VIGOROUS", "minutesVeryActive"),
                    ] {
                        let entry = levels.into_iter().flatten().find(|l| l["activityLevel"] == level);
                        let minutes = entry.map_or(0, |entry| int64(&entry["activeMinutesSum"]));
                        assert_eq!(minutes, fitbit(resource, day), "{level} on {day}");
                    }
                }
                _ => assert_eq!(
                    bucket["sedentaryPeriod"]["durationSum"],
                    format!("{}s", fitbit("minutesSedentary", day) * 60)
                ),
            }
        }
        let expected = &google_dataset(USER, from, today()).daily_rollups[data_type];
        assert_eq!(buckets, expected);
    }

    let azm = json(daily_roll_up(&sim, &token, "active-zone-minutes", from, to).await).await;
    let azm = azm["rollupDataPoints"].as_array().unwrap();
    assert!(azm.iter().any(|bucket| bucket["activeZoneMinutes"]["sumInFatBurnHeartZone"].is_string()));
    assert_eq!(azm, &google_dataset(USER, from, today()).daily_rollups["active-zone-minutes"]);

    let fifteen = daily_roll_up(&sim, &token, "total-calories", from - Duration::days(1), to).await;
    assert_eq!(status(fifteen).await, (400, "INVALID_ARGUMENT".to_string(), "INVALID_RANGE".to_string()));
    let ninety = daily_roll_up(&sim, &token, "steps", to - Duration::days(90), to).await;
    assert_eq!(ninety.status(), 200);
    let ninety_one = daily_roll_up(&sim, &token, "steps", to - Duration::days(91), to).await;
    assert_eq!(status(ninety_one).await.0, 400);
    let empty = daily_roll_up(&sim, &token, "steps", to, to).await;
    assert_eq!(status(empty).await.2, "INVALID_TIME_RANGE");
    let unsupported = daily_roll_up(&sim, &token, "exercise", from, to).await;
    assert_eq!(status(unsupported).await.1, "INVALID_ARGUMENT");
    let padded = client()
        .post(format!("{}/v4/users/me/dataTypes/steps/dataPoints:dailyRollUp", sim.base_url()))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(concat!(
            r#"{"range":{"start":{"date":{"year":2026,"month":03,"day":1}},"#,
            r#""end":{"date":{"year":2026,"month":3,"day":2}}}}"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(status(padded).await.0, 400, "zero-padded months are invalid JSON");
}

#[tokio::test]
async fn filters_and_data_types_are_validated() {
    let sim = start().await;
    let token = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599).access_token;
    let day = today();
    let cases = [
        (
            "weight",
            format!("weight.sample_time.civil_time >= \"{day}\" AND weight.sample_time.civil_time < \"{day}\""),
            "INVALID_TIME_RANGE",
        ),
        (
            "weight",
            format!("weight.sample_time.civil_time > \"{day}\""),
            "INVALID_DATA_POINT_FILTER_RESTRICTION_COMPARABLE",
        ),
        (
            "weight",
            format!("steps.interval.start_time >= \"{day}T00:00:00Z\""),
            "INVALID_DATA_POINT_FILTER_DATA_TYPE_RESTRICTION",
        ),
        (
            "sleep",
            format!("sleep.interval.civil_start_time >= \"{day}\""),
            "INVALID_DATA_POINT_FILTER_DATA_TYPE_RESTRICTION",
        ),
        (
            "exercise",
            format!("exercise.interval.civil_start_time >= \"{day}"),
            "INVALID_DATA_POINT_FILTER_UNEXPECTED_END_OF_INPUT",
        ),
        ("exercise", "exercise.interval.civil_start_time >= \"yesterday\"".to_string(), "INVALID_FILTER_FORMAT"),
    ];
    for (data_type, filter, reason) in cases {
        let (code, status_name, got) = status(list(&sim, &token, data_type, &[("filter", &filter)]).await).await;
        assert_eq!((code, status_name.as_str(), got.as_str()), (400, "INVALID_ARGUMENT", reason), "{filter}");
    }
    for data_type in ["total-calories", "floors", "calories-in-heart-rate-zone"] {
        let response = list(&sim, &token, data_type, &[]).await;
        assert_eq!(response.status(), 400);
        let body = json(response).await;
        assert_eq!(body["error"]["message"], format!("List is not supported for data type {data_type}"));
    }
    let unknown = status(list(&sim, &token, "mood", &[]).await).await;
    assert_eq!(unknown.2, "INVALID_PARENT_DATA_TYPE_COLLECTION");
    assert_eq!(json(list(&sim, &token, "steps", &[]).await).await, json!({}), "known types without data are empty");
    let reconciled = json(health_get(&sim, &token, "dataTypes/weight/dataPoints:reconcile", &[]).await).await;
    let first = &reconciled["dataPoints"][0];
    assert!(first["dataPointName"].is_string() && first.get("name").is_none() && first.get("dataSource").is_none());
    assert_eq!(status(health_get(&sim, &token, "nowhere", &[]).await).await.1, "NOT_FOUND");
    let other_user =
        client().get(format!("{}/v4/users/42/identity", sim.base_url())).bearer_auth(&token).send().await.unwrap();
    assert_eq!(status(other_user).await.1, "PERMISSION_DENIED");
    let own_id = client()
        .get(format!("{}/v4/users/{}/identity", sim.base_url(), health_user_id(USER)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(own_id.status(), 200);
}

#[tokio::test]
async fn bad_tokens_get_401_and_missing_scopes_403() {
    let sim = start().await;
    let expired = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, -1).access_token;
    let fitbit = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;

    for (token, reason) in [
        ("ya29.forged", "ACCESS_TOKEN_INVALID"),
        (fitbit.as_str(), "ACCESS_TOKEN_INVALID"),
        (expired.as_str(), "ACCESS_TOKEN_EXPIRED"),
    ] {
        let response = list(&sim, token, "weight", &[]).await;
        assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        assert_eq!(status(response).await, (401, "UNAUTHENTICATED".to_string(), reason.to_string()));
    }
    let anonymous = client().get(format!("{}/v4/users/me/identity", sim.base_url())).send().await.unwrap();
    assert_eq!(status(anonymous).await.2, "CREDENTIALS_MISSING");
    assert_eq!(sim.google_counts(USER).data, 1, "the expired token's request is counted for its user");

    let sleep_only = sim.issue_google_tokens(USER, &scope("sleep"), 3599).access_token;
    let response = list(&sim, &sleep_only, "weight", &[]).await;
    assert_eq!(response.status(), 403);
    let body = json(response).await;
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");
    assert_eq!(body["error"]["message"], "Request had insufficient authentication scopes.");
    assert_eq!(
        body["error"]["details"][0],
        json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            "domain": "googleapis.com",
            "metadata": {
                "service": "health.googleapis.com",
                "method": "google.devicesandservices.health.v4.DataPointsService.ListDataPoints"
            }
        })
    );
    assert_eq!(list(&sim, &sleep_only, "sleep", &[]).await.status(), 200);
    let by_query = client()
        .get(format!("{}/v4/users/me/identity", sim.base_url()))
        .query(&[("access_token", &sleep_only)])
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), 200, "the access_token query parameter works too");
}

#[tokio::test]
async fn the_per_minute_quota_answers_429_resource_exhausted() {
    // Near the end of a minute the quota would refill mid-test; wait it out.
    let second = chrono::Utc::now().second();
    if second >= 55 {
        tokio::time::sleep(std::time::Duration::from_secs(u64::from(61 - second))).await;
    }
    let sim = start_with(SimConfig { google_rate_limit_per_minute: 3, ..SimConfig::default() }).await;
    let token = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599).access_token;
    for _ in 0..3 {
        assert_eq!(health_get(&sim, &token, "identity", &[]).await.status(), 200);
    }
    let response = health_get(&sim, &token, "identity", &[]).await;
    assert_eq!(response.status(), 429);
    let body = json(response).await;
    assert_eq!(body["error"]["code"], 429);
    assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
    let details = body["error"]["details"].as_array().unwrap();
    assert_eq!(details[0]["@type"], "type.googleapis.com/google.rpc.ErrorInfo");
    assert_eq!(details[0]["reason"], "RATE_LIMIT_EXCEEDED");
    assert_eq!(details[1]["@type"], "type.googleapis.com/google.rpc.QuotaFailure");
    assert_eq!(sim.google_counts(USER).rate_limited, 1);

    let other = sim.issue_google_tokens("OTHER1", GOOGLE_HEALTH_SCOPES, 3599).access_token;
    assert_eq!(health_get(&sim, &other, "identity", &[]).await.status(), 200, "the quota is per user");
    let fitbit = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    let weights = format!("/body/log/weight/date/{0}/{0}.json", today());
    assert_eq!(get_data(&sim, &fitbit, &weights).await.status(), 200, "Fitbit's quota is apart");

    let config = client()
        .put(format!("{}/__admin/config", sim.base_url()))
        .body(json!({"google_rate_limit_per_minute": 10}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(json(config).await["google_rate_limit_per_minute"], 10);
    assert_eq!(health_get(&sim, &token, "identity", &[]).await.status(), 200);
}

#[tokio::test]
async fn google_routes_outlive_the_legacy_api_and_take_faults() {
    let sim = start_with(SimConfig { legacy_gone: true, ..SimConfig::default() }).await;
    let pair = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599);
    assert_eq!(google_refresh(&sim, &pair.refresh_token).await.status(), 200);
    assert_eq!(health_get(&sim, &pair.access_token, "identity", &[]).await.status(), 200);
    let fitbit = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600);
    assert_eq!(refresh(&sim, &fitbit.refresh_token).await.status(), 410);

    sim.add_fault(Fault {
        user: Some(USER.into()),
        route: Some(Route::GoogleData),
        kind: FaultKind::Status(503),
        times: 1,
    });
    assert_eq!(health_get(&sim, &pair.access_token, "identity", &[]).await.status(), 503);
    assert_eq!(health_get(&sim, &pair.access_token, "identity", &[]).await.status(), 200);

    let fault = json!({"route": "google_token", "kind": "status", "status": 500});
    let added =
        client().post(format!("{}/__admin/faults", sim.base_url())).body(fault.to_string()).send().await.unwrap();
    assert_eq!(added.status(), 204);
    assert_eq!(google_refresh(&sim, &pair.refresh_token).await.status(), 500);
    assert!(sim.is_google_refresh_token_valid(&pair.refresh_token));
    assert_eq!(google_refresh(&sim, &pair.refresh_token).await.status(), 200);
    assert_eq!(sim.google_counts(USER).refresh, 3);
}

#[tokio::test]
async fn admin_issues_google_tokens_reports_requests_and_unlinks() {
    let sim = start().await;
    let admin = |path: &str| format!("{}/__admin/google/users/{path}", sim.base_url());
    let body = json(client().post(admin("G1/tokens")).send().await.unwrap()).await;
    assert_eq!(body["user_id"], "G1");
    assert_eq!(body["health_user_id"], health_user_id("G1"));
    let access = body["access_token"].as_str().unwrap().to_string();
    assert!((body["expires_at"].as_i64().unwrap() - chrono::Utc::now().timestamp() - 3599).abs() <= 2);
    assert!(sim.is_google_refresh_token_valid(body["refresh_token"].as_str().unwrap()));
    let narrow = json(
        client()
            .post(admin("G2/tokens"))
            .body(json!({"scopes": scope("sleep"), "expires_in": -1}).to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(!sim.is_google_access_token_active(narrow["access_token"].as_str().unwrap()));

    let filter = format!("weight.sample_time.civil_time >= \"{}\"", today());
    list(&sim, &access, "weight", &[("filter", &filter)]).await;
    let unlinked = client().put(admin("G1/linked")).body(json!({"linked": false}).to_string()).send().await.unwrap();
    assert_eq!(unlinked.status(), 200);
    let (code, status_name, reason) = status(health_get(&sim, &access, "identity", &[]).await).await;
    assert_eq!((code, status_name.as_str(), reason.as_str()), (400, "FAILED_PRECONDITION", "ACCOUNT_NOT_LINKED"));
    sim.set_google_account_linked("G1", true);
    assert_eq!(health_get(&sim, &access, "identity", &[]).await.status(), 200);

    let requests = json(client().get(admin("G1/requests")).send().await.unwrap()).await;
    assert_eq!(requests["data"], 3);
    assert_eq!(
        requests["requests"][0],
        format!(
            "GET /v4/users/me/dataTypes/weight/dataPoints?filter={}",
            form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
        )
    );
    assert_eq!(requests["refresh"], 0);
}
