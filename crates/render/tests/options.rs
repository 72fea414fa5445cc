//! Query parsing: every bad parameter is a 4xx naming it, equivalent queries share one
//! canonical string, `format=auto` follows `Accept`, and random queries never panic.

use render::{Error, Fit, FormatChoice, Gravity, OutputFormat, Presets, Rect, RenderOptions};

fn parse(q: &str) -> Result<RenderOptions, Error> {
    RenderOptions::parse(q, &Presets::builtin())
}

#[test]
fn a_full_query_parses() {
    let o = parse("w=300&h=200&fit=contain&gravity=northeast&crop=1,2,30,40&filter=sepia:0.5&format=webp&q=70&dpr=2&bg=%23FF8000&enlarge=1").unwrap();
    assert_eq!(
        (o.w, o.h, o.fit, o.gravity),
        (Some(300), Some(200), Fit::Contain, Gravity::NorthEast)
    );
    assert_eq!(
        o.crop,
        Some(Rect {
            x: 1,
            y: 2,
            w: 30,
            h: 40
        })
    );
    assert_eq!(
        (o.format, o.quality, o.dpr, o.bg, o.enlarge),
        (FormatChoice::Webp, Some(70), 2.0, [255, 128, 0], true)
    );
    assert_eq!(o.target(), (Some(600), Some(400)));
}

#[test]
fn bad_parameters_name_the_parameter_with_the_right_status() {
    let cases: &[(&str, &str, u16)] = &[
        ("w=0", "w", 422),
        ("w=100000", "w", 422),
        ("w=99999999999999999999", "w", 422),
        ("w=-5", "w", 400),
        ("w=abc", "w", 400),
        ("h=1.5", "h", 400),
        ("w=", "w", 400),
        ("fit=stretch", "fit", 400),
        ("gravity=up", "gravity", 400),
        ("crop=1,2,3", "crop", 400),
        ("crop=1,2,0,4", "crop", 422),
        ("crop=a,b,c,d", "crop", 400),
        ("filter=", "filter", 400),
        ("filter=grayscale,,blur", "filter", 400),
        ("filter=nosuch", "filter", 400),
        ("filter=blur:abc", "filter", 400),
        ("filter=blur:", "filter", 400),
        ("filter=blur:1:2", "filter", 400),
        ("filter=blur:500", "filter", 422),
        ("filter=pixelate:2.5", "filter", 400),
        ("filter=brightness:NaN", "filter", 400),
        ("filter=brightness:inf", "filter", 400),
        ("preset=nosuch", "preset", 400),
        ("preset=juno&filter=grayscale", "preset", 400),
        ("format=gif", "format", 400),
        ("q=0", "q", 422),
        ("q=101", "q", 422),
        ("dpr=5", "dpr", 422),
        ("dpr=0.5", "dpr", 422),
        ("dpr=NaN", "dpr", 400),
        ("dpr=inf", "dpr", 400),
        ("bg=fff", "bg", 400),
        ("bg=gggggg", "bg", 400),
        ("enlarge=yes", "enlarge", 400),
        ("width=300", "width", 400),
        ("w=1&w=2", "w", 400),
    ];
    for &(q, param, status) in cases {
        let err = parse(q).expect_err(q);
        assert_eq!(err.param(), Some(param), "{q}: {err}");
        assert_eq!(err.status(), status, "{q}: {err}");
        assert!(err.to_string().starts_with(param), "{q}: {err}");
    }
    let chain = vec!["grayscale"; 17].join(",");
    assert_eq!(
        parse(&format!("filter={chain}")).unwrap_err().param(),
        Some("filter")
    );
}

#[test]
fn signature_parameters_are_ignored_and_excluded_from_the_key() {
    let a = parse("w=300&expires=1700000000&sig=abcdef&kid=k1").unwrap();
    let b = parse("w=300").unwrap();
    assert_eq!(a, b);
    assert!(!a.canonical().contains("sig"));
}

#[test]
fn equivalent_queries_share_one_canonical_string() {
    let same = [
        ("w=300&dpr=2&filter=grayscale", "filter=grayscale:1.0&w=600"),
        ("h=100&w=200", "w=200&h=100&fit=cover&gravity=center"),
        ("w=10&bg=FFFFFF", "w=10&bg=ffffff&enlarge=0&format=auto"),
        ("w=10&format=jpg", "w=10&format=jpeg"),
        ("w=10&gravity=north", "w=10"), // gravity only matters for a two-sided cover
    ];
    for (a, b) in same {
        assert_eq!(
            parse(a).unwrap().canonical(),
            parse(b).unwrap().canonical(),
            "{a} vs {b}"
        );
    }
    let different = [
        ("w=300", "w=301"),
        ("w=300&h=300", "w=300&h=300&gravity=smart"),
        ("w=300&h=300", "w=300&h=300&fit=contain"),
        ("w=3", "w=3&q=50"),
        ("w=3", "w=3&preset=juno"),
        ("w=3&preset=juno", "w=3&preset=moon"),
        ("w=3", "w=3&enlarge=1"),
        ("w=3", "w=3&crop=0,0,2,2"),
    ];
    for (a, b) in different {
        assert_ne!(
            parse(a).unwrap().canonical(),
            parse(b).unwrap().canonical(),
            "{a} vs {b}"
        );
    }
}

#[test]
fn a_changed_user_preset_changes_the_key() {
    let p1 = Presets::builtin()
        .with_user_json(r#"{"mine": "grayscale"}"#)
        .unwrap();
    let p2 = Presets::builtin()
        .with_user_json(r#"{"mine": "sepia"}"#)
        .unwrap();
    let a = RenderOptions::parse("preset=mine", &p1).unwrap();
    let b = RenderOptions::parse("preset=mine", &p2).unwrap();
    assert_ne!(a.canonical(), b.canonical());
}

#[test]
fn user_presets_are_validated() {
    for bad in [
        r#"{"Bad Name": "grayscale"}"#,
        r#"{"x": "nosuch"}"#,
        r#"{"x": 3}"#,
        "[1]",
        "{",
    ] {
        let err = Presets::builtin().with_user_json(bad).expect_err(bad);
        assert_eq!(err.param(), Some("filter_presets"), "{bad}");
    }
    let p = Presets::builtin()
        .with_user_json(r#"{"juno": "grayscale", "noir": "grayscale,contrast:1.5"}"#)
        .unwrap();
    assert_eq!(p.get("juno").unwrap().chain().canonical(), "grayscale:1");
    assert!(p.get("juno").unwrap().overlays().is_empty());
    assert_eq!(p.catalog().len(), Presets::builtin().catalog().len() + 1);
    assert_eq!(
        Presets::builtin().with_user_json("  ").unwrap(),
        Presets::builtin()
    );
}

#[test]
fn auto_format_follows_accept() {
    let auto = parse("w=10").unwrap();
    let chrome = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8";
    assert_eq!(auto.output_format(Some(chrome), false), OutputFormat::Avif);
    assert_eq!(
        auto.output_format(Some("image/webp,*/*"), false),
        OutputFormat::Webp
    );
    assert_eq!(
        auto.output_format(Some("image/avif;q=0,image/webp"), true),
        OutputFormat::Webp
    );
    assert_eq!(auto.output_format(Some("*/*"), true), OutputFormat::Png);
    assert_eq!(auto.output_format(None, false), OutputFormat::Jpeg);
    let jpeg = parse("format=jpeg").unwrap();
    assert_eq!(jpeg.output_format(Some(chrome), true), OutputFormat::Jpeg);
}

#[test]
fn catalogs_serialise_as_the_api_says() {
    let filters = serde_json::to_value(render::filter_catalog()).unwrap();
    let names: Vec<&str> = filters
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for want in [
        "grayscale",
        "sepia",
        "blur",
        "sharpen",
        "brightness",
        "contrast",
        "saturate",
        "hue",
        "invert",
        "gamma",
        "pixelate",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let blur = &filters[2];
    assert_eq!(blur["params"][0]["name"], "sigma");
    assert!(
        blur["params"][0]["min"].is_number()
            && blur["params"][0]["max"].is_number()
            && blur["params"][0]["default"].is_number()
    );
    let presets = serde_json::to_value(Presets::builtin().catalog()).unwrap();
    assert!(presets.as_array().unwrap().len() >= 8);
    assert_eq!(presets[0]["name"], "clarendon");
    assert_eq!(presets[0]["chain"], "contrast:1.2,saturate:1.35");
    assert_eq!(presets[0]["overlays"][0]["blend"], "overlay");
    // Every catalog chain parses back to itself.
    for p in presets.as_array().unwrap() {
        let chain = p["chain"].as_str().unwrap();
        assert_eq!(render::Chain::parse(chain).unwrap().canonical(), chain);
    }
}

/// Random queries built from the parameter vocabulary, plus raw bytes: parse never
/// panics, and whatever parses also plans (and an error is always a parameter error).
#[test]
fn random_queries_never_panic() {
    let mut rng = imaging::testkit::Rng::new(12);
    let keys = [
        "w", "h", "fit", "gravity", "crop", "filter", "preset", "format", "q", "dpr", "bg",
        "enlarge", "x", "sig",
    ];
    let values = [
        "0",
        "1",
        "2",
        "300",
        "16384",
        "16385",
        "4294967296",
        "-1",
        "1.5",
        "nan",
        "inf",
        "",
        "cover",
        "contain",
        "fill",
        "inside",
        "outside",
        "smart",
        "north",
        "0,0,1,1",
        "5,5,5000,5000",
        "4294967295,0,1,1",
        "grayscale,blur:2",
        "blur:50,pixelate:256",
        "hue:-360",
        "juno",
        "1977",
        "avif",
        "auto",
        "ffffff",
        "%00",
        "%FF%FE",
        ",,,",
        ":",
        "4",
    ];
    let presets = Presets::builtin();
    for _ in 0..20_000 {
        let n = (rng.next_u64() % 5) as usize;
        let mut q = String::new();
        for i in 0..n {
            if i > 0 {
                q.push('&');
            }
            let k = keys[(rng.next_u64() % keys.len() as u64) as usize];
            let v = values[(rng.next_u64() % values.len() as u64) as usize];
            q += &format!("{k}={v}");
        }
        if rng.next_u64().is_multiple_of(10) {
            let bytes: Vec<u8> = (0..(rng.next_u64() % 30))
                .map(|_| (rng.next_u64() % 256) as u8)
                .collect();
            q += &String::from_utf8_lossy(&bytes);
        }
        match RenderOptions::parse(&q, &presets) {
            Ok(o) => {
                let _ = o.canonical();
                let (sw, sh) = (
                    1 + (rng.next_u64() % 5000) as u32,
                    1 + (rng.next_u64() % 5000) as u32,
                );
                if let Ok(plan) = render::plan(&o, sw, sh) {
                    assert!(plan.width >= 1 && plan.height >= 1, "{q}");
                    let (bw, bh) = plan.decode_box();
                    assert!(bw >= 1 && bh >= 1 && bw <= sw && bh <= sh, "{q}");
                }
            }
            Err(e) => assert!(
                e.param().is_some() && (400..500).contains(&e.status()),
                "{q}: {e:?}"
            ),
        }
    }
}
