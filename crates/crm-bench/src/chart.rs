//! SVG charts of a run (`plotters`' SVG backend: text is drawn as `<text>` elements, so no font
//! files are needed): for a backend, requests per second by concurrency, one line per
//! measurement, and the p50 and p99 latencies by concurrency. Both use a logarithmic value axis:
//! the measurements lie orders of magnitude apart, and equal ratios look equally far apart.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use plotters::{
    coord::ranged1d::SegmentValue,
    element::DashedPathElement,
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
    style::{Color, RGBColor},
};

use crate::{
    load::Measurement,
    report::{self, Level, Results, names},
};

/// One line of a chart: its name in the legend and a value per concurrency (the index into the
/// chart's concurrency levels); `None` where it was not measured.
pub struct Line {
    /// The legend's text.
    pub name: String,
    /// One value per concurrency level, in order.
    pub values: Vec<Option<f64>>,
    /// Which colour (an index into the palette), so related lines can share one.
    pub colour: usize,
    /// Dashed (e.g. p99) or solid (e.g. p50).
    pub dashed: bool,
}

/// Colours told apart by most eyes, on white (Okabe and Ito's palette).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 560;
/// The legend's column, right of the plot.
const LEGEND_WIDTH: u32 = 310;
/// The first legend entry's height in the legend's column, and the space between entries.
const LEGEND_TOP: i32 = 40;
const LEGEND_ROW: i32 = 22;

/// Draws a chart into the SVG file `path`: `title`, the concurrency `levels` along the x axis,
/// `lines` against a logarithmic y axis described by `y_description`, labelled by `y_label`.
pub fn draw(
    path: &Path,
    title: &str,
    y_description: &str,
    y_label: &dyn Fn(f64) -> String,
    levels: &[usize],
    lines: &[Line],
) -> anyhow::Result<()> {
    let values: Vec<f64> = lines
        .iter()
        .flat_map(|line| line.values.iter().flatten().copied())
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    if levels.is_empty() || values.is_empty() {
        return Err(anyhow!("nothing to draw in {}", path.display()));
    }
    let low = values.iter().copied().fold(f64::INFINITY, f64::min) / 1.6;
    let high = values.iter().copied().fold(0.0, f64::max) * 1.6;
    let failed = |error: &dyn std::fmt::Display| anyhow!("cannot draw {}: {error}", path.display());
    let svg = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    svg.fill(&WHITE).map_err(|e| failed(&e))?;
    let svg = svg
        .titled(title, ("sans-serif", 22))
        .map_err(|e| failed(&e))?;
    // The legend goes beside the plot, where it hides no line.
    let (plot, legend) = svg.split_horizontally(WIDTH - LEGEND_WIDTH);
    let mut chart = ChartBuilder::on(&plot)
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(
            // An integer range includes its end: one segment per level.
            (0..levels.len() - 1).into_segmented(),
            (low..high)
                .log_scale()
                .with_key_points(one_two_five(low, high)),
        )
        .map_err(|e| failed(&e))?;
    let x_label = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(i) => levels.get(*i).map_or(String::new(), usize::to_string),
        _ => String::new(),
    };
    let y_text = |v: &f64| y_label(*v);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(levels.len())
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_text)
        .x_desc("concurrency (requests in flight)")
        .y_desc(y_description)
        .axis_desc_style(("sans-serif", 15))
        .label_style(("sans-serif", 13))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| failed(&e))?;
    let mut row = 0;
    for line in lines {
        let colour = PALETTE[line.colour % PALETTE.len()];
        let style = colour.stroke_width(2);
        // Consecutive measured points form a run; a level without a value breaks the line.
        let mut points: Vec<Vec<(SegmentValue<usize>, f64)>> = vec![Vec::new()];
        for (i, value) in line.values.iter().enumerate() {
            match value.filter(|v| v.is_finite() && *v > 0.0) {
                Some(v) => points
                    .last_mut()
                    .map_or((), |run| run.push((SegmentValue::CenterOf(i), v))),
                None => points.push(Vec::new()),
            }
        }
        points.retain(|run| !run.is_empty());
        if points.is_empty() {
            continue;
        }
        for run in points {
            let markers = run
                .iter()
                .map(|(x, y)| Circle::new((x.clone(), *y), 4, colour.filled()))
                .collect::<Vec<_>>();
            if line.dashed {
                chart
                    .draw_series(DashedLineSeries::new(run, 8, 5, style))
                    .map_err(|e| failed(&e))?;
            } else {
                chart
                    .draw_series(LineSeries::new(run, style))
                    .map_err(|e| failed(&e))?;
            }
            chart.draw_series(markers).map_err(|e| failed(&e))?;
        }
        // The line's entry in the legend: a sample of the line, its marker, its name.
        let y = LEGEND_TOP + row * LEGEND_ROW;
        row += 1;
        let sample = [(8, y), (40, y)];
        if line.dashed {
            legend
                .draw(&DashedPathElement::new(sample, 8, 5, style))
                .map_err(|e| failed(&e))?;
        } else {
            legend
                .draw(&PathElement::new(sample, style))
                .map_err(|e| failed(&e))?;
        }
        legend
            .draw(&Circle::new((24, y), 4, colour.filled()))
            .map_err(|e| failed(&e))?;
        let font = ("sans-serif", 13)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        legend
            .draw(&Text::new(line.name.clone(), (48, y), font))
            .map_err(|e| failed(&e))?;
    }
    svg.present().map_err(|e| failed(&e))?;
    Ok(())
}

/// Writes the backend's two charts of `results` into `dir` ([`report::chart_files`]) and returns
/// their paths: requests per second of every measurement by concurrency, and the p50 (solid) and
/// p99 (dashed) latency of the HTTP delete (both load generators), the database ceiling and the
/// write limit.
pub fn write_charts(results: &Results, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let backend = &results.context.backend;
    let levels: Vec<usize> = results.levels.iter().map(|l| l.concurrency).collect();
    let (throughput_file, latency_file) = report::chart_files(backend);

    // One colour per measurement; wrk's lines are dashed in the colour of reqwest's.
    let measurements: [(&str, usize, bool, Pick); 7] = [
        (names::HTTP_DELETE, 0, false, |l| Some(&l.http_delete)),
        (names::WRK_DELETE, 0, true, |l| l.wrk_delete.as_ref()),
        (names::DB_CEILING, 1, false, |l| Some(&l.db_ceiling)),
        (names::WRITE_LIMIT, 2, false, |l| Some(&l.write_limit)),
        (names::ROUTE_WORK, 3, false, |l| Some(&l.route_work)),
        (names::HTTP_CEILING, 4, false, |l| Some(&l.http_ceiling)),
        (names::WRK_CEILING, 4, true, |l| l.wrk_ceiling.as_ref()),
    ];
    let value_of = |pick: Pick, f: &dyn Fn(&Measurement) -> f64| -> Vec<Option<f64>> {
        results
            .levels
            .iter()
            .map(|level| pick(level).map(f))
            .collect()
    };
    let throughput: Vec<Line> = measurements
        .iter()
        .map(|&(name, colour, dashed, pick)| Line {
            name: name.replace('`', ""),
            values: value_of(pick, &Measurement::throughput),
            colour,
            dashed,
        })
        .filter(|line| line.values.iter().any(Option::is_some))
        .collect();
    let throughput_path = dir.join(throughput_file);
    draw(
        &throughput_path,
        &format!("{}: requests per second by concurrency", backend.title()),
        "requests per second (log scale)",
        &per_second,
        &levels,
        &throughput,
    )?;

    let mut latency = Vec::new();
    for &(name, colour, _, pick) in measurements.iter().filter(|(name, ..)| {
        [
            names::HTTP_DELETE,
            names::WRK_DELETE,
            names::DB_CEILING,
            names::WRITE_LIMIT,
        ]
        .contains(name)
    }) {
        // wrk's delete gets a colour of its own here: its p99 is dashed like every p99.
        let colour = if name == names::WRK_DELETE { 5 } else { colour };
        let name = name.replace('`', "");
        for (quantile, label, dashed) in [(0.5, "p50", false), (0.99, "p99", true)] {
            latency.push(Line {
                name: format!("{name} {label}"),
                values: value_of(pick, &|m: &Measurement| m.quantile_ms(quantile)),
                colour,
                dashed,
            });
        }
    }
    latency.retain(|line| line.values.iter().any(Option::is_some));
    let latency_path = dir.join(latency_file);
    draw(
        &latency_path,
        &format!(
            "{}: p50 (solid) and p99 (dashed) latency by concurrency",
            backend.title()
        ),
        "milliseconds (log scale)",
        &milliseconds,
        &levels,
        &latency,
    )?;
    Ok(vec![throughput_path, latency_path])
}

/// Picks one measurement of a level.
type Pick = fn(&Level) -> Option<&Measurement>;

/// The values 1, 2 and 5 times a power of ten from `low` to `high`: the value axis's labels.
fn one_two_five(low: f64, high: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    if !(low > 0.0 && high > low && high.is_finite()) {
        return ticks;
    }
    let mut decade = 10f64.powf(low.log10().floor());
    while decade <= high {
        for step in [1.0, 2.0, 5.0] {
            let tick = decade * step;
            if (low..=high).contains(&tick) {
                ticks.push(tick);
            }
        }
        decade *= 10.0;
    }
    ticks
}

/// `1,234/s`-style labels for a requests-per-second axis.
pub fn per_second(v: f64) -> String {
    if v >= 1000.0 {
        format!("{}/s", crate::report::thousands(v.round() as usize))
    } else if v >= 10.0 {
        format!("{v:.0}/s")
    } else {
        format!("{v:.1}/s")
    }
}

/// `0.25 ms`-style labels for a latency axis.
pub fn milliseconds(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0} ms")
    } else if v >= 1.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.2} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_an_svg_with_its_texts() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("chart.svg");
        let lines = vec![
            Line {
                name: "HTTP delete".into(),
                values: vec![Some(900.0), Some(1_800.0), Some(1_700.0)],
                colour: 0,
                dashed: false,
            },
            Line {
                name: "write limit".into(),
                values: vec![Some(3_000.0), None, Some(7_000.0)],
                colour: 1,
                dashed: true,
            },
        ];
        draw(
            &path,
            "PostgreSQL: requests per second",
            "per second",
            &per_second,
            &[1, 8, 32],
            &lines,
        )?;
        let svg = std::fs::read_to_string(&path)?;
        assert!(svg.starts_with("<svg"));
        // The texts of the `<text>` elements.
        let texts: Vec<&str> = svg
            .split("</text>")
            .filter_map(|part| part.rsplit_once('>').map(|(_, text)| text.trim()))
            .collect();
        for text in [
            "PostgreSQL: requests per second",
            "HTTP delete",
            "write limit",
            "1",
            "8",
            "32",
            "1,000/s",
            "5,000/s",
        ] {
            assert!(texts.contains(&text), "{text} is missing from {texts:?}");
        }
        // The lines (the dashed one in pieces) and the legend's samples; a marker per point,
        // one per legend entry.
        assert!(svg.matches("<polyline").count() >= 2, "no line was drawn");
        assert_eq!(svg.matches("<circle").count(), 5 + 2);
        Ok(())
    }

    #[test]
    fn nothing_to_draw_is_an_error() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("empty.svg");
        let lines = vec![Line {
            name: "x".into(),
            values: vec![None, Some(f64::NAN)],
            colour: 0,
            dashed: false,
        }];
        assert!(draw(&path, "t", "y", &per_second, &[1, 8], &lines).is_err());
        assert!(draw(&path, "t", "y", &per_second, &[], &[]).is_err());
    }

    #[test]
    fn the_value_axis_is_labelled_at_one_two_five() {
        let near = |a: &[f64], b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9 * y)
        };
        let ticks = one_two_five(0.3, 30.0);
        assert!(near(&ticks, &[0.5, 1.0, 2.0, 5.0, 10.0, 20.0]), "{ticks:?}");
        let ticks = one_two_five(900.0, 1_100.0);
        assert!(near(&ticks, &[1_000.0]), "{ticks:?}");
        assert!(one_two_five(0.0, 10.0).is_empty());
        assert!(one_two_five(5.0, 1.0).is_empty());
    }

    #[test]
    fn axis_labels_read_well() {
        assert_eq!(per_second(12_345.4), "12,345/s");
        assert_eq!(per_second(250.0), "250/s");
        assert_eq!(per_second(2.5), "2.5/s");
        assert_eq!(milliseconds(0.123), "0.12 ms");
        assert_eq!(milliseconds(3.21), "3.2 ms");
        assert_eq!(milliseconds(42.0), "42 ms");
    }
}
