package main

import (
	"fmt"
	"image/color"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// barPlot draws one group of bars per case, one bar per series, each the
// median of metric over rounds (ratio to the case's baseline when ratio is
// set), into file as PNG.
func barPlot(file, title, ylabel string, cases []*Case, metric string, ratio bool) error {
	var names []string
	seen := map[string]bool{}
	for _, c := range cases {
		for _, s := range c.Series {
			if !seen[s.Name] && !(ratio && s.Name == c.Baseline) {
				seen[s.Name] = true
				names = append(names, s.Name)
			}
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("plot %s: nothing to plot", filepath.Base(file))
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	w := vg.Points(60 / float64(len(names)))
	var labels []string
	for _, c := range cases {
		labels = append(labels, c.Name)
	}
	for i, name := range names {
		vals := make(plotter.Values, len(cases))
		for j, c := range cases {
			s := c.find(name)
			if s == nil {
				continue
			}
			vs := s.Values[metric]
			if ratio {
				base := c.find(c.Baseline)
				if base == nil {
					continue
				}
				vs = ratios(vs, base.Values[metric])
			}
			vals[j] = summarize(vs).Median
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return fmt.Errorf("plot %s: %w", filepath.Base(file), err)
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(i)
		bars.Offset = w * vg.Length(float64(i)-float64(len(names)-1)/2)
		p.Add(bars)
		p.Legend.Add(name, bars)
	}
	if ratio {
		one := plotter.NewFunction(func(float64) float64 { return 1 })
		one.Color = color.Gray{Y: 100}
		one.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(one)
	}
	p.Legend.Top = true
	p.NominalX(labels...)
	p.X.Tick.Label.Rotation = 0.25
	p.X.Tick.Label.XAlign = -0.9
	p.Y.Min = 0
	p.Y.Max *= 1.25 // room for the legend
	return p.Save(vg.Length(180+90*len(cases))*vg.Millimeter/3, 110*vg.Millimeter, file)
}

// plots draws the scenarios' plots into dir and records them, relative to
// the report, on each scenario.
func plots(r *Results, dir, rel string) []error {
	var errs []error
	draw := func(s *Scenario, name, title, ylabel, metric string, ratio bool, cases []*Case) {
		if len(cases) == 0 {
			return
		}
		if err := barPlot(filepath.Join(dir, name), title, ylabel, cases, metric, ratio); err != nil {
			errs = append(errs, err)
			return
		}
		s.Plots = append(s.Plots, rel+"/"+name)
	}
	for _, s := range r.Scenarios {
		if s.Status != "" {
			continue
		}
		switch s.ID {
		case "gateway":
			draw(s, "gateway-throughput.png", "Throughput relative to nginx (1 worker)", "× nginx req/s", mRPS, true, s.Cases)
			draw(s, "gateway-p99.png", "p99 latency", "µs", mP99, false, s.Cases)
		case "functions":
			draw(s, "functions-p50.png", "Warm invoke p50 latency", "µs", mP50, false, s.Cases)
			draw(s, "functions-rps.png", "Warm invoke throughput", "req/s", mRPS, false, s.Cases)
		case "coldstart":
			draw(s, "coldstart.png", "Cold start", "ms", mCold, false, s.Cases)
		case "routing":
			draw(s, "routing.png", "Route match cost", "ns/match", mNsOp, false, s.Cases)
		}
	}
	return errs
}
