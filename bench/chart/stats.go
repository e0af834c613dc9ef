package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// rec is one result line of bench/p11bench (see the comment at the top of p11bench.c).
type rec struct {
	Module   string   `json:"module"`
	Lat      string   `json:"lat"`
	Run      int      `json:"run"`
	Scenario string   `json:"scenario"`
	Case     string   `json:"case"`
	Status   string   `json:"status"`
	Error    string   `json:"error"`
	APDUs    *float64 `json:"apdus"`
	BytesIn  *float64 `json:"bytes_in"`
	BytesOut *float64 `json:"bytes_out"`
	WallMS   float64  `json:"wall_ms"`
	CPUMS    float64  `json:"cpu_ms"`
	Ops      float64  `json:"ops"`
	Total    *float64 `json:"apdus_total"`
	ModuleMS *float64 `json:"module_ms"`
	PCSCMS   *float64 `json:"pcsc_ms"`
	AddedMS  *float64 `json:"added_ms"`
	RSSAdded *float64 `json:"rss_added_kb"`
	Wakes    string   `json:"finalize_wakes"`
}

type key struct{ module, lat, scenario, cas string }

// results groups the lines of one bench run.
type results struct {
	by map[key][]rec
}

// readResults parses JSON lines; blank lines are skipped, anything else that is not a
// result object is an error (a truncated file must not become a quiet gap in a table).
func readResults(r io.Reader) (*results, error) {
	res := &results{by: map[key][]rec{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var x rec
		if err := json.Unmarshal(b, &x); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if x.Module == "" || x.Scenario == "" {
			return nil, fmt.Errorf("line %d: not a p11bench result", line)
		}
		k := key{x.Module, x.Lat, x.Scenario, x.Case}
		res.by[k] = append(res.by[k], x)
	}
	return res, sc.Err()
}

// metric extracts one number from a successful result line.
type metric func(rec) (float64, bool)

// cell is the median of a metric over the runs of one (module, lat, scenario, case),
// or why there is none.
type cell struct {
	v   float64
	ok  bool
	why string // "unsupported", "error", "timeout", "not run"
	n   int
}

func (res *results) median(module, lat, scenario, cas string, m metric) cell {
	rs := res.by[key{module, lat, scenario, cas}]
	if len(rs) == 0 {
		return cell{why: "not run"}
	}
	var vs []float64
	why := ""
	for _, r := range rs {
		if r.Status != "ok" {
			why = r.Status
			continue
		}
		if v, ok := m(r); ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		if why == "" {
			why = "n/a"
		}
		return cell{why: why}
	}
	return cell{v: median(vs), ok: true, n: len(vs)}
}

func median(vs []float64) float64 {
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// The metrics. "per op" divides by the number of signatures of the interval.
func perOp(v float64, r rec) float64 {
	if r.Ops > 0 {
		return v / r.Ops
	}
	return v
}

var (
	mAPDUs = func(r rec) (float64, bool) {
		if r.APDUs == nil {
			return 0, false
		}
		return *r.APDUs, true
	}
	mAPDUsPerOp = func(r rec) (float64, bool) {
		v, ok := mAPDUs(r)
		return perOp(v, r), ok
	}
	mBytes = func(r rec) (float64, bool) {
		if r.BytesIn == nil || r.BytesOut == nil {
			return 0, false
		}
		return *r.BytesIn + *r.BytesOut, true
	}
	mBytesPerOp = func(r rec) (float64, bool) {
		v, ok := mBytes(r)
		return perOp(v, r), ok
	}
	mWall      = func(r rec) (float64, bool) { return r.WallMS, true }
	mWallPerOp = func(r rec) (float64, bool) { return perOp(r.WallMS, r), true }
	mCPU       = func(r rec) (float64, bool) { return r.CPUMS, true }
	mCPUPerOp  = func(r rec) (float64, bool) { return perOp(r.CPUMS, r), true }
	mCPUPct    = func(r rec) (float64, bool) {
		if r.WallMS <= 0 {
			return 0, false
		}
		return 100 * r.CPUMS / r.WallMS, true
	}
	mThroughput = func(r rec) (float64, bool) {
		if r.WallMS <= 0 {
			return 0, false
		}
		return 1000 * r.Ops / r.WallMS, true
	}
	mAPDUsTotal = func(r rec) (float64, bool) {
		if r.Total == nil {
			return 0, false
		}
		return *r.Total, true
	}
	mModuleMS = optional(func(r rec) *float64 { return r.ModuleMS })
	mPCSCMS   = optional(func(r rec) *float64 { return r.PCSCMS })
	mAddedMS  = optional(func(r rec) *float64 { return r.AddedMS })
	mRSS      = optional(func(r rec) *float64 { return r.RSSAdded })
	mWakes    = func(r rec) (float64, bool) {
		switch r.Wakes {
		case "yes":
			return 1, true
		case "no":
			return 0, true
		}
		return 0, false
	}
)

func optional(get func(rec) *float64) metric {
	return func(r rec) (float64, bool) {
		p := get(r)
		if p == nil {
			return 0, false
		}
		return *p, true
	}
}
