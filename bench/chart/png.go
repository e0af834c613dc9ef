package main

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
)

// The chart: two panels of grouped bars, one group per scenario, one bar per module.
// Each group is scaled to its own largest value (scenarios differ by orders of
// magnitude); the number above each bar is the absolute median.

type group struct {
	label string
	get   func(*results, string) cell
	floor float64 // < 0: none
}

type panel struct {
	title  string
	groups []group
}

var panels = []panel{
	{"APDUS COUNTED BY THE CARD (LATENCY OFF). DASHES: PROTOCOL FLOOR", []group{
		{"S1 COLD", med("off", "S1", "cold", mAPDUs), 2},
		{"S2 1ST SIG", med("off", "S2", "rsa", mAPDUs), 5},
		{"S3 EC/SIG", med("off", "S3", "ec", mAPDUsPerOp), 1},
		{"S3 RSA/SIG", med("off", "S3", "rsa", mAPDUsPerOp), 1},
		{"S4 /SIG", med("off", "S4", "threads", mAPDUsPerOp), 1},
		{"S5 INSERT", med("off", "S5", "insert", mAPDUs), 0},
		{"S7 COLD", med("off", "S7", "cold", mAPDUs), -1},
		{"S7 WARM", med("off", "S7", "warm", mAPDUs), -1},
		{"S8 COLD", med("off", "S8", "cold", mAPDUs), -1},
		{"S9 HS2", med("off", "S9", "hs2", mAPDUs), 1},
		{"S10 /MIN", func(res *results, mod string) cell {
			c := res.median(mod, "off", "S10", "poll", mAPDUsPerOp)
			c.v *= 60
			return c
		}, 0},
	}},
	{"WALL MS WITH THE LATENCY MODEL. S4: SIGNATURES/S (HIGHER IS BETTER). S6: RSS MB", []group{
		{"S1 COLD", med("on", "S1", "cold", mWall), -1},
		{"S2 1ST SIG", med("on", "S2", "rsa", mWall), -1},
		{"S3 EC/SIG", med("on", "S3", "ec", mWallPerOp), -1},
		{"S3 RSA/SIG", med("on", "S3", "rsa", mWallPerOp), -1},
		{"S4 2 CARDS", med("on", "S4", "cards", mThroughput), -1},
		{"S5 INSERT", med("on", "S5", "insert", mModuleMS), -1},
		{"S6 RSS MB", func(res *results, mod string) cell {
			c := res.median(mod, "off", "S6", "rss", mRSS)
			c.v /= 1024
			return c
		}, -1},
	}},
}

var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, // blue
	{0xff, 0x7f, 0x0e, 0xff}, // orange
	{0x2c, 0xa0, 0x2c, 0xff}, // green
	{0x94, 0x67, 0xbd, 0xff}, // purple
}

var (
	black = color.RGBA{0, 0, 0, 0xff}
	grey  = color.RGBA{0x88, 0x88, 0x88, 0xff}
	white = color.RGBA{0xff, 0xff, 0xff, 0xff}
)

const (
	chartW  = 1280
	panelH  = 400
	marginL = 30
	marginR = 30
	top     = 60
)

func fillRect(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	draw.Draw(img, image.Rect(x0, y0, x1, y1), &image.Uniform{c}, image.Point{}, draw.Src)
}

func renderPNG(w io.Writer, res *results, mods []module, title string) error {
	h := top + len(panels)*panelH + 20
	img := image.NewRGBA(image.Rect(0, 0, chartW, h))
	fillRect(img, 0, 0, chartW, h, white)
	drawText(img, marginL, 10, title, 2, black)
	// legend, on its own line under the title
	x := marginL
	for i, m := range mods {
		fillRect(img, x, 34, x+14, 48, palette[i%len(palette)])
		drawText(img, x+20, 34, m.name, 2, black)
		x += textWidth(m.name, 2) + 50
	}
	for p, pn := range panels {
		drawPanel(img, res, mods, pn, top+p*panelH)
	}
	return png.Encode(w, img)
}

func drawPanel(img *image.RGBA, res *results, mods []module, pn panel, y0 int) {
	drawText(img, marginL, y0+10, pn.title, 2, black)
	plotTop, base := y0+50, y0+panelH-50
	plotH := base - plotTop
	fillRect(img, marginL, base, chartW-marginR, base+1, black)
	gw := (chartW - marginL - marginR) / len(pn.groups)
	barW, gap := 40, 8
	if w := (gw - 12 - (len(mods)-1)*gap) / len(mods); w < barW {
		barW = max(w, 8) // many groups: narrower bars
	}
	for gi, g := range pn.groups {
		cells := make([]cell, len(mods))
		max := g.floor
		for i, m := range mods {
			cells[i] = g.get(res, m.label)
			if cells[i].ok && cells[i].v > max {
				max = cells[i].v
			}
		}
		bars := len(mods)*barW + (len(mods)-1)*gap
		gx := marginL + gi*gw + (gw-bars)/2
		for i, c := range cells {
			bx := gx + i*(barW+gap)
			if !c.ok {
				drawText(img, bx+2, base-10, "N/A", 1, grey)
				continue
			}
			bh := 0
			if max > 0 {
				bh = int(float64(plotH) * c.v / max)
			}
			if bh < 1 && c.v > 0 {
				bh = 1
			}
			fillRect(img, bx, base-bh, bx+barW, base, palette[i%len(palette)])
			s := fmtNum(c.v)
			sc := 2
			if textWidth(s, 2) > barW+gap-2 {
				sc = 1
			}
			drawText(img, bx+(barW-textWidth(s, sc))/2, base-bh-4-7*sc, s, sc, black)
		}
		if g.floor >= 0 && max > 0 {
			fy := base - int(float64(plotH)*g.floor/max)
			for x := gx - 4; x < gx+bars+4; x += 6 {
				fillRect(img, x, fy-1, x+3, fy+1, black)
			}
		}
		ls := 2
		if textWidth(g.label, 2) > gw-4 {
			ls = 1
		}
		drawText(img, marginL+gi*gw+(gw-textWidth(g.label, ls))/2, base+12, g.label, ls, black)
	}
}
