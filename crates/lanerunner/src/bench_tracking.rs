//! `lanerunner bench tracking`: simulated trucks on routes between real places (the
//! gazetteer's cities, 150 to 1,200 road miles apart), each reporting every 30 seconds,
//! accelerated: it approaches its pickup, waits inside the fence, and heads for its
//! delivery at highway speed. Every position goes through what the tracking service
//! applies in process: validation, the geofences and the ETA (its domain, without the
//! store), on one core and on every core (trucks split between threads).
//!
//! The peer, PostGIS, answers the same geofence questions: is each position within the
//! fence radius of each of its truck's stops (`ST_DWithin` on `geography`, on the sphere as
//! LaneRunner measures), over the same points, in one set-based query on preloaded, indexed
//! tables: its best case. LaneRunner's geofence step answers the same questions per
//! position; both must count the same positions inside a fence.

use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Duration, TimeZone, Utc};
use lanerunner_geo::{haversine_miles, Gazetteer, LatLon};
use lanerunner_tracking::domain::{
    self, eta::eta, Fences, Fix, Limits, StopFence, StopKind, TrackState,
};
use rand::{Rng, SeedableRng};
use sqlx::{Connection, Executor, PgConnection};

pub struct TrackingBench {
    pub trucks: usize,
    /// Positions each truck reports.
    pub reports: usize,
    /// Measure PostGIS too (a scratch database on this server).
    pub postgres_admin_url: Option<String>,
}

struct Truck {
    stops: Vec<StopFence>,
    fixes: Vec<Fix>,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

/// A point `miles` from `a` towards `b` (on the straight line in degrees: close enough for
/// a simulated road).
fn towards(a: LatLon, b: LatLon, miles: f64) -> LatLon {
    let d = haversine_miles(a, b).max(1e-9);
    let f = miles / d;
    LatLon::new(a.lat + (b.lat - a.lat) * f, a.lon + (b.lon - a.lon) * f)
}

fn trucks(n: usize, reports: usize, seed: u64) -> Vec<Truck> {
    let gaz = Gazetteer::embedded();
    let cities: Vec<_> = gaz
        .places()
        .iter()
        .filter(|p| p.population >= 50_000)
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let a = cities[rng.gen_range(0..cities.len())];
        let b = cities[rng.gen_range(0..cities.len())];
        let miles = haversine_miles(a.point, b.point) * 1.2;
        if !(150.0..=1_200.0).contains(&miles) {
            continue;
        }
        let t0 = start() + Duration::seconds(rng.gen_range(0..30));
        let stop = |kind, p: &lanerunner_geo::Place, hours: i64| StopFence {
            kind,
            label: p.label(),
            lat: p.point.lat,
            lon: p.point.lon,
            window_start: t0 + Duration::hours(hours),
            window_end: t0 + Duration::hours(hours + 4),
            timezone: p.timezone.clone(),
        };
        let stops = vec![
            stop(StopKind::Pickup, a, 0),
            stop(StopKind::Delivery, b, (miles / 50.0) as i64 + 2),
        ];
        // Five miles out on the far side, 0.46 miles a report (55 mph), ten reports
        // waiting at the dock, then on the road.
        let behind = towards(a.point, b.point, -5.0);
        let mut fixes = Vec::with_capacity(reports);
        for i in 0..reports {
            let p = if i < 11 {
                towards(behind, a.point, 0.46 * i as f64)
            } else if i < 21 {
                LatLon::new(
                    a.point.lat + rng.gen_range(-0.001..0.001),
                    a.point.lon + rng.gen_range(-0.001..0.001),
                )
            } else {
                towards(a.point, b.point, 0.46 * (i - 20) as f64)
            };
            fixes.push(Fix {
                lat: p.lat,
                lon: p.lon,
                at: t0 + Duration::seconds(30 * i as i64),
                speed_mph: None,
            });
        }
        out.push(Truck { stops, fixes });
    }
    out
}

/// What applying every position did: transitions and positions inside a fence.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Applied {
    positions: u64,
    refused: u64,
    transitions: u64,
    etas: u64,
}

/// The tracking service's in-process work for each position, trucks interleaved as their
/// reports arrive.
fn apply_all(trucks: &[Truck], reports: usize) -> Applied {
    let fences = Fences::default();
    let limits = Limits::default();
    let mut states: Vec<TrackState> = trucks
        .iter()
        .map(|t| TrackState::new(t.stops.len()))
        .collect();
    let tzs: Vec<chrono_tz::Tz> = trucks
        .iter()
        .map(|t| t.stops[1].timezone.parse().unwrap_or(chrono_tz::UTC))
        .collect();
    let mut a = Applied::default();
    for i in 0..reports {
        for (k, t) in trucks.iter().enumerate() {
            let fix = &t.fixes[i];
            let st = &mut states[k];
            a.positions += 1;
            if domain::position::check(fix, st.last.as_ref(), fix.at, &limits).is_err() {
                a.refused += 1;
                continue;
            }
            a.transitions += st.apply(&t.stops, fix, &fences).len() as u64;
            if !st.inside {
                if let Some(next) = t.stops.get(st.current) {
                    // Kept from the optimiser: the ETA is the work measured.
                    std::hint::black_box(eta(
                        fix.point(),
                        fix.at,
                        fix.at,
                        next.point(),
                        tzs[k],
                        next.window_end,
                        st.hours,
                    ));
                    a.etas += 1;
                }
            }
        }
    }
    a
}

/// The geofence questions alone: is each position within the radius of each of its truck's
/// stops. How many positions were inside one.
fn fence_questions(trucks: &[Truck], radius: f64) -> u64 {
    let mut inside = 0;
    for t in trucks {
        for f in &t.fixes {
            if t.stops
                .iter()
                .any(|s| haversine_miles(f.point(), s.point()) <= radius)
            {
                inside += 1;
            }
        }
    }
    inside
}

fn rate(n: u64, secs: f64) -> String {
    lanerunner_reporting::document::grouped((n as f64 / secs) as u64)
}

pub async fn bench(b: TrackingBench) -> anyhow::Result<String> {
    let t = Instant::now();
    let trucks = trucks(b.trucks, b.reports, 42);
    let n = (b.trucks * b.reports) as u64;
    let mut out = format!(
        "{} trucks × {} reports = {} positions (generated in {:.1} s)\n\n| Step | Positions/s | Time | Notes |\n|---|---:|---:|---|\n",
        b.trucks,
        b.reports,
        lanerunner_reporting::document::grouped(n),
        t.elapsed().as_secs_f64()
    );

    // One core.
    let t = Instant::now();
    let one = apply_all(&trucks, b.reports);
    let secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        one.refused == 0,
        "the simulated positions were refused: {one:?}"
    );
    out.push_str(&format!(
        "| validation + geofences + ETA, 1 core | {} | {:.2} s | {} transitions, {} ETAs |\n",
        rate(n, secs),
        secs,
        one.transitions,
        one.etas
    ));

    // Every core: trucks split between threads (a truck's positions stay in order).
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let chunk = trucks.len().div_ceil(cores);
    let t = Instant::now();
    let parts: Vec<Applied> = std::thread::scope(|s| {
        let handles: Vec<_> = trucks
            .chunks(chunk)
            .map(|c| s.spawn(move || apply_all(c, b.reports)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a bench thread"))
            .collect()
    });
    let secs = t.elapsed().as_secs_f64();
    let transitions: u64 = parts.iter().map(|p| p.transitions).sum();
    anyhow::ensure!(
        transitions == one.transitions,
        "the threads disagree with one core"
    );
    out.push_str(&format!(
        "| validation + geofences + ETA, {cores} cores | {} | {:.2} s | same transitions |\n",
        rate(n, secs),
        secs
    ));

    // The geofence questions alone, as PostGIS is asked them.
    let radius = Fences::default().radius_miles;
    let t = Instant::now();
    let inside = fence_questions(&trucks, radius);
    let ours = t.elapsed().as_secs_f64();
    out.push_str(&format!(
        "| geofence questions (2 a position), 1 core | {} | {:.3} s | {} positions inside a fence |\n",
        rate(n, ours),
        ours,
        lanerunner_reporting::document::grouped(inside)
    ));

    if let Some(url) = &b.postgres_admin_url {
        let (secs, pg_inside) = postgis(url, &trucks, radius).await?;
        out.push_str(&format!(
            "| PostGIS `ST_DWithin`, one query | {} | {:.3} s | {} inside; LaneRunner {:.0}× faster |\n",
            rate(n, secs),
            secs,
            lanerunner_reporting::document::grouped(pg_inside),
            secs / ours
        ));
        anyhow::ensure!(
            pg_inside.abs_diff(inside) <= inside / 10_000 + 1,
            "PostGIS counts {pg_inside} positions inside a fence, LaneRunner {inside}"
        );
    }
    Ok(out)
}

/// Loads the same positions and fences into a scratch database with PostGIS and times the
/// one query answering every geofence question. Seconds, and positions inside a fence.
async fn postgis(
    admin_url: &str,
    trucks: &[Truck],
    radius_miles: f64,
) -> anyhow::Result<(f64, u64)> {
    let scratch = crate::bench_search::ScratchDatabase::create(admin_url).await?;
    let result = async {
        let mut c = PgConnection::connect(&scratch.url).await?;
        c.execute("CREATE EXTENSION IF NOT EXISTS postgis").await.context(
            "PostGIS is not installed on this PostgreSQL (Debian: postgresql-15-postgis-3)",
        )?;
        c.execute(
            "CREATE TABLE fences (truck INT NOT NULL, stop INT NOT NULL, g geography(Point) NOT NULL);
             CREATE TABLE positions (truck INT NOT NULL, seq INT NOT NULL, g geography(Point) NOT NULL)",
        )
        .await?;
        let (mut ft, mut fl, mut fo) = (Vec::new(), Vec::new(), Vec::new());
        for (k, t) in trucks.iter().enumerate() {
            for s in &t.stops {
                ft.push(k as i32);
                fl.push(s.lat);
                fo.push(s.lon);
            }
        }
        sqlx::query(
            "INSERT INTO fences SELECT t, row_number() OVER (PARTITION BY t), ST_SetSRID(ST_MakePoint(lo, la), 4326)::geography \
             FROM unnest($1::int[], $2::float8[], $3::float8[]) AS u(t, la, lo)",
        )
        .bind(&ft)
        .bind(&fl)
        .bind(&fo)
        .execute(&mut c)
        .await?;
        for batch in trucks.chunks(1_000).enumerate() {
            let (mut pt, mut ps, mut pl, mut po) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (j, t) in batch.1.iter().enumerate() {
                for (i, f) in t.fixes.iter().enumerate() {
                    pt.push((batch.0 * 1_000 + j) as i32);
                    ps.push(i as i32);
                    pl.push(f.lat);
                    po.push(f.lon);
                }
            }
            sqlx::query(
                "INSERT INTO positions SELECT t, s, ST_SetSRID(ST_MakePoint(lo, la), 4326)::geography \
                 FROM unnest($1::int[], $2::int[], $3::float8[], $4::float8[]) AS u(t, s, la, lo)",
            )
            .bind(&pt)
            .bind(&ps)
            .bind(&pl)
            .bind(&po)
            .execute(&mut c)
            .await?;
        }
        c.execute(
            "CREATE INDEX ON fences (truck); CREATE INDEX ON fences USING gist (g); \
             CREATE INDEX ON positions USING gist (g); ANALYZE fences; ANALYZE positions",
        )
        .await?;
        let metres = radius_miles * lanerunner_geo::METERS_PER_MILE;
        let sql = "SELECT count(DISTINCT (p.truck, p.seq)) FROM positions p JOIN fences f ON f.truck = p.truck \
                   WHERE ST_DWithin(p.g, f.g, $1, false)";
        // Once to warm the cache, then timed.
        sqlx::query_scalar::<_, i64>(sql).bind(metres).fetch_one(&mut c).await?;
        let t = Instant::now();
        let inside: i64 = sqlx::query_scalar(sql).bind(metres).fetch_one(&mut c).await?;
        let secs = t.elapsed().as_secs_f64();
        let _ = c.close().await;
        anyhow::Ok((secs, inside as u64))
    }
    .await;
    if let Err(e) = scratch.drop_database().await {
        eprintln!(
            "warning: could not drop scratch database {}: {e}",
            scratch.name
        );
    }
    result
}

/// Counts what the positions stream receives until `n` more arrived (or 60 s of quiet);
/// the total so far.
async fn drain(
    stream: &mut dyn lanerunner_platform::streams::StreamSubscription,
    applied: &mut usize,
    n: usize,
) -> usize {
    let target = *applied + n;
    while *applied < target {
        match tokio::time::timeout(std::time::Duration::from_secs(60), stream.next()).await {
            Ok(Some(Ok(_))) => *applied += 1,
            _ => break,
        }
    }
    *applied
}

/// End to end through MQTT on the embedded stack: `loads` booked loads, one device
/// connection at QoS 1. First the latency: every truck reports an approach, and once all
/// are applied each reports its arrival, 20 a second, timed from its publish to the
/// `load.status_changed.v1` it causes. Then the sustained rate: as many more trucks drive
/// 50 reports each (30 s apart in their own time, sent as fast as the connection
/// takes them), counted as the positions stream receives them.
pub async fn bench_mqtt(loads: usize, mqtt_password: &str) -> anyhow::Result<String> {
    use rumqttc::{AsyncClient, MqttOptions, QoS};
    use std::collections::HashMap;

    let prefix = format!("lrb{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let app = crate::testing::TestApp::spawn_with(crate::testing::Backend::Sqlite, |c| {
        c.tracking.mqtt.url = Some("mqtt://127.0.0.1:1884".into());
        c.tracking.mqtt.password = Some(mqtt_password.into());
        c.tracking.mqtt.topic_prefix = prefix.clone();
    })
    .await;
    let broker = app.signup("bench-trk-b@example.com", "broker").await;
    let carrier = app.signup("bench-trk-c@example.com", "carrier").await;
    let book = |n: usize, tag: &'static str| {
        let (app, broker, carrier) = (&app, &broker, &carrier);
        async move {
            let mut ids = Vec::with_capacity(n);
            for i in 0..n {
                let load = crate::testing::dallas_atlanta_load(&format!("{tag}-{i}"), 200_000);
                ids.push(crate::testing::book(app, broker, carrier, &load).await);
            }
            for id in &ids {
                crate::testing::poll(app, &format!("/v1/loads/{id}/tracking"), carrier, |t| {
                    t["status"] == "active"
                })
                .await;
            }
            ids
        }
    };
    let ids = book(loads, "BENCH").await;
    let movers = book(loads, "MOVER").await;
    let creds: serde_json::Value = app
        .post_json(
            "/v1/tracking/device-credentials",
            &serde_json::json!({}),
            Some(&carrier.access),
        )
        .await
        .json()
        .await?;
    let pickup = (32.78306, -96.80667);
    let mut opts = MqttOptions::new("bench-device", "127.0.0.1", 1884);
    opts.set_credentials(
        creds["username"].as_str().context("a device account")?,
        creds["password"].as_str().context("a device account")?,
    );
    opts.set_inflight(1000);
    let (client, mut events) = AsyncClient::new(opts, 10_000);
    tokio::spawn(async move { while events.poll().await.is_ok() {} });
    let mut bus = app
        .app()
        .bus()
        .subscribe_broadcast(&["load.status_changed.v1"])
        .await?;
    let mut stream = app
        .app()
        .streams()
        .subscribe(
            "bench.tracking",
            &[lanerunner_tracking::service::POSITIONS_TOPIC],
        )
        .await?;
    let topic = |id: &str| {
        creds["topic"]
            .as_str()
            .unwrap_or_default()
            .replace("{load_id}", id)
    };
    let mut applied = 0usize;
    // Approaches (three miles out), all at once, applied before any arrival is timed.
    for id in &ids {
        let body = serde_json::json!({"lat": pickup.0 - 0.04, "lon": pickup.1, "at": (Utc::now() - Duration::seconds(120)).to_rfc3339()});
        client
            .publish(topic(id), QoS::AtLeastOnce, false, body.to_string())
            .await?;
    }
    anyhow::ensure!(
        drain(&mut *stream, &mut applied, loads).await == loads,
        "not every approach was applied"
    );

    // Arrivals, 20 a second, each timed to the status change it causes.
    let started = Instant::now();
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let waiter = tokio::spawn(async move {
        let mut seen: HashMap<String, Instant> = HashMap::new();
        while seen.len() < loads {
            let Some(d) = tokio::time::timeout(std::time::Duration::from_secs(60), bus.next())
                .await
                .ok()
                .flatten()
            else {
                break;
            };
            let e = d.event.clone();
            d.ack().await;
            if e.payload["to"] == "at_pickup" {
                seen.insert(
                    e.payload["load_id"].as_str().unwrap_or_default().to_owned(),
                    Instant::now(),
                );
            }
        }
        seen
    });
    for id in &ids {
        let body = serde_json::json!({"lat": pickup.0 + 0.001, "lon": pickup.1});
        sent.insert(id.clone(), Instant::now());
        client
            .publish(topic(id), QoS::AtLeastOnce, false, body.to_string())
            .await?;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let seen = waiter.await?;
    let arrivals = started.elapsed().as_secs_f64();
    let timed: Vec<(usize, f64)> = ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            Some((
                i,
                seen.get(id)?.duration_since(sent[id]).as_secs_f64() * 1e3,
            ))
        })
        .collect();
    anyhow::ensure!(
        timed.len() == loads,
        "{} of {loads} arrivals changed their load's status",
        timed.len()
    );
    drain(&mut *stream, &mut applied, loads).await;
    let mut ms: Vec<f64> = timed.iter().map(|t| t.1).collect();
    ms.sort_by(f64::total_cmp);
    let q = |p: f64| ms[((ms.len() as f64 * p).ceil() as usize).clamp(1, ms.len()) - 1];
    let mut slowest = timed.clone();
    slowest.sort_by(|a, b| b.1.total_cmp(&a.1));
    let slowest: Vec<String> = slowest
        .iter()
        .take(3)
        .map(|(i, ms)| format!("#{} {ms:.0} ms", i + 1))
        .collect();

    // The sustained rate: the movers drive east from Dallas, 30 s apart in their own time
    // (about 55 mph), every truck's report k sent before any truck's report k + 1.
    const STEPS: i64 = 50;
    let t0 = Utc::now() - Duration::seconds(30 * STEPS + 60);
    let started = Instant::now();
    for k in 0..STEPS {
        for id in &movers {
            let body = serde_json::json!({
                "lat": pickup.0 - 0.3,
                "lon": pickup.1 + 0.008 * k as f64,
                "at": (t0 + Duration::seconds(30 * k)).to_rfc3339(),
            });
            client
                .publish(topic(id), QoS::AtLeastOnce, false, body.to_string())
                .await?;
        }
    }
    let sent_all = movers.len() * STEPS as usize;
    let got = drain(&mut *stream, &mut applied, sent_all)
        .await
        .saturating_sub(2 * loads);
    let secs = started.elapsed().as_secs_f64();
    if got != sent_all {
        let seen = crate::testing::poll(
            &app,
            &format!("/v1/loads/{}/tracking/positions?limit=5", movers[0]),
            &carrier,
            |_| true,
        )
        .await;
        anyhow::bail!("{got} of {sent_all} positions reached the stream; a mover's latest: {seen}");
    }
    Ok(format!(
        "\nThrough MQTT, embedded stack (SQLite): {loads} arrivals at 20/s after {loads} approaches were applied, {arrivals:.1} s\n\n| Position → status change | p50 | p90 | p99 | max |\n|---|---:|---:|---:|---:|\n| milliseconds | {:.1} | {:.1} | {:.1} | {:.1} |\n\nSlowest arrivals (by order sent): {}\n\nSustained through MQTT: {sent_all} positions from {} trucks ({STEPS} each) applied in {secs:.2} s: {:.0} positions/s (10,000 trucks reporting every 30 s need 333/s)\n",
        q(0.5),
        q(0.9),
        q(0.99),
        ms[ms.len() - 1],
        slowest.join(", "),
        movers.len(),
        sent_all as f64 / secs,
    ))
}
