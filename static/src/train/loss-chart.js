/**
 * The live loss chart (and test accuracy when the run evaluates), drawn with D3 from a loss series
 * (chart-data.js). Records only mark the chart dirty; drawing happens at most once per animation
 * frame and costs O(buckets), so a 20,000-step run streaming hundreds of records a second leaves
 * the page responsive. The x axis spans the whole run from the start, so it never rescales.
 */
import * as d3 from 'd3';
import { formatNumber } from '../tensor.js';

const MARGIN = { top: 10, right: 44, bottom: 22, left: 50 };

export function createLossChart(root, { onPick } = {}) {
  // The plot has a fixed height (CSS); the legend below it flows, and may wrap in narrow windows.
  const plotBox = d3.select(root).append('div').attr('class', 'chart-plot');
  const svg = plotBox.append('svg').attr('class', 'loss-chart').attr('role', 'img')
    .attr('aria-label', 'Training loss per step, and test accuracy');
  const plot = svg.append('g').attr('transform', `translate(${MARGIN.left},${MARGIN.top})`);
  const band = plot.append('path').attr('class', 'loss-band');
  const line = plot.append('path').attr('class', 'loss-line');
  const evalLine = plot.append('path').attr('class', 'eval-line');
  const accuracyLine = plot.append('path').attr('class', 'accuracy-line');
  const marker = plot.append('line').attr('class', 'scrub-marker').style('display', 'none');
  const xAxis = plot.append('g').attr('class', 'axis x');
  const yAxis = plot.append('g').attr('class', 'axis y');
  const accuracyAxis = plot.append('g').attr('class', 'axis accuracy');
  const legend = d3.select(root).append('div').attr('class', 'chart-legend');

  let series = null;
  let totalSteps = 1;
  let markedStep = null;
  let frame = null;
  let draws = 0;
  let drawMs = 0;
  let longestDrawMs = 0;
  // Per-frame work is only the paths: the size comes from a ResizeObserver (reading it in the
  // frame would force a layout of the page), and axes and legend are redrawn only when they change.
  let size = { width: 0, height: 0 };
  let x = d3.scaleLinear();
  let drawnX = '';
  let drawnY = '';
  let drawnLegend = '';
  new ResizeObserver(([entry]) => {
    size = { width: Math.max(120, entry.contentRect.width), height: Math.max(80, entry.contentRect.height) };
    invalidate();
  }).observe(plotBox.node());
  svg.on('click', (event) => {
    if (!onPick) return;
    const [px] = d3.pointer(event, plot.node());
    onPick(Math.round(x.invert(px)));
  });

  function draw() {
    const started = performance.now();
    frame = null;
    draws += 1;
    paint();
    const took = performance.now() - started;
    drawMs += took;
    longestDrawMs = Math.max(longestDrawMs, took);
  }

  function paint() {
    const { width, height } = size;
    if (!width) return;
    const innerWidth = width - MARGIN.left - MARGIN.right;
    const innerHeight = height - MARGIN.top - MARGIN.bottom;
    x = d3.scaleLinear([0, totalSteps], [0, innerWidth]);
    const xKey = `${width}x${height}:${totalSteps}`;
    if (xKey !== drawnX) {
      drawnX = xKey;
      svg.attr('width', width).attr('height', height);
      xAxis.attr('transform', `translate(0,${innerHeight})`).call(d3.axisBottom(x).ticks(Math.max(2, innerWidth / 90)).tickSizeOuter(0));
    }
    const points = series ? series.points() : [];
    const evals = series ? series.evals : [];
    const losses = evals.filter((point) => point.loss !== null && Number.isFinite(point.loss)).map((point) => point.loss);
    const extent = series && series.extent();
    let low = extent ? extent[0] : 0.1;
    let high = extent ? extent[1] : 1;
    for (const loss of losses) {
      low = Math.min(low, loss);
      high = Math.max(high, loss);
    }
    // A loss spanning decades (regression: thousands down to tenths) reads on a log scale.
    const useLog = low > 0 && high / low > 30;
    const y = useLog
      ? d3.scaleLog([low, high], [innerHeight, 0]).nice()
      : d3.scaleLinear([Math.min(0, low), high || 1], [innerHeight, 0]).nice();
    const yTicks = y.ticks(Math.max(2, Math.floor(innerHeight / 28)));
    // Log scales get one label per decade at most; numbers as the rest of the page writes them.
    const decades = useLog ? yTicks.filter((tick) => Number.isInteger(Math.log10(tick))) : yTicks;
    const shown = decades.length >= 2 ? decades : yTicks;
    const yKey = `${xKey}:${y.domain()}:${shown}`;
    if (yKey !== drawnY) {
      drawnY = yKey;
      yAxis.call(d3.axisLeft(y).tickValues(shown).tickFormat((tick) => formatNumber(tick, 3)).tickSizeOuter(0));
    }
    band.attr('d', d3.area().x((p) => x(p.step)).y0((p) => y(p.min)).y1((p) => y(p.max))(points));
    line.attr('d', d3.line().x((p) => x(p.step)).y((p) => y(p.mean))(points));
    evalLine.attr('d', d3.line().defined((p) => p.loss !== null && Number.isFinite(p.loss)).x((p) => x(p.step)).y((p) => y(p.loss))(evals));
    const withAccuracy = evals.some((p) => p.accuracy !== null);
    const accuracy = d3.scaleLinear([0, 1], [innerHeight, 0]);
    accuracyLine.style('display', withAccuracy ? null : 'none')
      .attr('d', d3.line().defined((p) => p.accuracy !== null).x((p) => x(p.step)).y((p) => accuracy(p.accuracy))(evals));
    marker.style('display', markedStep === null ? 'none' : null)
      .attr('x1', x(markedStep ?? 0)).attr('x2', x(markedStep ?? 0)).attr('y1', 0).attr('y2', innerHeight);
    const entries = [['loss-line', 'training loss (per step; band: min–max)']];
    if (losses.length) entries.push(['eval-line', 'test loss']);
    if (withAccuracy) entries.push(['accuracy-line', 'test accuracy (right axis)']);
    const legendKey = `${xKey}:${entries.length}`;
    if (legendKey !== drawnLegend) {
      drawnLegend = legendKey;
      accuracyAxis.style('display', withAccuracy ? null : 'none')
        .attr('transform', `translate(${innerWidth},0)`).call(d3.axisRight(accuracy).ticks(4, '.0%').tickSizeOuter(0));
      legend.selectAll('span').data(entries, (entry) => entry[0]).join('span')
        .attr('class', (entry) => entry[0]).text((entry) => entry[1]);
    }
    svg.attr('data-points', points.length).attr('data-last-step', series ? series.lastStep : '');
  }

  /** Draws on the next animation frame; any number of calls before it cost one drawing. */
  function invalidate() {
    if (frame === null) frame = requestAnimationFrame(draw);
  }

  return {
    /** A new run: its series and its number of steps (the x axis). */
    reset(nextSeries, steps) {
      series = nextSeries;
      totalSteps = Math.max(1, steps);
      markedStep = null;
      invalidate();
    },
    invalidate,
    mark(step) {
      markedStep = step;
      invalidate();
    },
    get draws() { return draws; },
    /** Time spent drawing (for bench/ui_train.py): total and longest, in ms. */
    get drawMs() { return drawMs; },
    get longestDrawMs() { return longestDrawMs; },
  };
}
