// The connection's last 30 days in three small charts (rows, bytes, delivery lag) that tell the
// truth: every finished window on a real time axis (a window without a run is a gap), failed and
// empty windows in their own colours, a failed window's lag shown as missing rather than as 0, and
// the 1-hour delivery target on the lag chart. The axis starts at the connection's start when it is
// younger than 30 days; windows exported as a catch-up (planned long after they closed) are drawn
// apart on the lag chart, which is scaled to the live windows. Each bar's numbers show in a tooltip
// on hover, on tap, and on keyboard focus (Tab into a chart, arrow keys between its bars).
'use client';
import { useQuery } from '@tanstack/react-query';
import { useId, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { api } from '@/components/api/client';
import type { Connection, StatPoint, Stats } from '@/lib/management/responses';
import { bytes, dateStr, duration, num, shortDay } from '@/components/ui/formatters';
import { Card, ErrorNotice } from '@/components/ui/primitives';
import { runStatusLabel } from '@/lib/runs/vocabulary';

const W = 600;
const H = 100;
const COLORS = {
  catchUp: '#c4b5fd',
  ok: '#7a5af8',
  failed: '#dc2626',
  failedBand: '#fee2e2',
  empty: '#94a3b8',
  target: '#d97706',
  axis: '#e2e8f0',
};

const time = new Intl.DateTimeFormat('en-US', {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: 'UTC',
});
/** The delivery target in words: "1 h". */
const targetText = (seconds: number) => (seconds % 3600 === 0 ? `${seconds / 3600} h` : duration(seconds));
const windowText = (p: StatPoint) => `${time.format(new Date(p.window_start))} – ${time.format(new Date(p.window_end))} UTC`;

type Measure = {
  label: string;
  /** null: the window has no value for this measure (shown as missing). */
  value: (p: StatPoint) => number | null;
  format: (n: number) => string;
  /** What the tooltip and the bar's label say about the window. */
  describe: (p: StatPoint, targetSeconds: number) => string;
};

const outcome = (p: StatPoint) => runStatusLabel(p.status);

const MEASURES: Record<'rows' | 'bytes' | 'lag', Measure> = {
  rows: {
    label: 'Rows',
    value: (p) => p.rows,
    format: num,
    describe: (p) =>
      p.status === 'failed' ? `Failed, not delivered · ${num(p.rows)} rows exported` : `${outcome(p)} · ${num(p.rows)} rows`,
  },
  bytes: {
    label: 'Bytes',
    value: (p) => p.bytes,
    format: bytes,
    describe: (p) => (p.status === 'failed' ? `Failed, not delivered · ${bytes(p.bytes)} exported` : `${outcome(p)} · ${bytes(p.bytes)}`),
  },
  lag: {
    label: 'Delivery lag',
    value: (p) => p.lag_seconds,
    format: duration,
    describe: (p, target) =>
      p.lag_seconds === null
        ? 'Failed · no lag: the files were never delivered'
        : p.catch_up
          ? `Catch-up: ${outcome(p)} ${duration(p.lag_seconds)} after the window closed (exported late, not the live lag)`
          : `${outcome(p)} ${duration(p.lag_seconds)} after the window closed${p.lag_seconds > target ? ` · over the ${targetText(target)} target` : ''}`,
  },
};

function Legend({ target, catchUp }: { target: number; catchUp: boolean }) {
  const swatch = (color: string, label: string) => (
    <li className="inline-flex items-center gap-1.5">
      <span aria-hidden className="size-2.5 rounded-sm" style={{ background: color }} />
      {label}
    </li>
  );
  return (
    <ul className="flex flex-wrap items-center gap-x-4 gap-y-1 text-xs text-slate-600" aria-label="Legend" data-testid="chart-legend">
      {swatch(COLORS.ok, runStatusLabel('delivered'))}
      {swatch(COLORS.failed, runStatusLabel('failed'))}
      {swatch(COLORS.empty, runStatusLabel('empty'))}
      {catchUp ? swatch(COLORS.catchUp, 'Catch-up (lag not live)') : null}
      <li className="inline-flex items-center gap-1.5">
        <span aria-hidden className="w-4 border-t-2 border-dashed" style={{ borderColor: COLORS.target }} />
        {targetText(target)} delivery target
      </li>
    </ul>
  );
}

function MiniChart({ stats, measure, since }: { stats: Stats; measure: Measure; since: number }) {
  const tipId = useId();
  const bars = useRef<(SVGRectElement | null)[]>([]);
  const [hovered, setHovered] = useState<number | null>(null);
  const [focused, setFocused] = useState<number | null>(null);
  const [roving, setRoving] = useState<number | null>(null);
  const points = stats.data;
  // A connection younger than the range: the axis starts at its start, not 30 days back.
  const from = Math.max(new Date(stats.range.from).getTime(), since);
  const to = new Date(stats.range.to).getTime();
  const span = Math.max(1, to - from);
  const target = stats.lag_target_seconds;
  const isLag = measure.label === 'Delivery lag';
  const values = points.map(measure.value);
  // A catch-up's lag (days, after a start date in the past) would flatten the live windows: the lag
  // chart is scaled to the live ones, a taller catch-up bar reaches the top, its tooltip tells the value.
  const live = (i: number) => !(isLag && points[i].catch_up);
  const liveValues = values.filter((_, i) => live(i));
  const max = Math.max(1, ...liveValues.map((v) => v ?? 0), isLag ? target * 1.15 : 0);
  const xOf = (ms: number) => ((ms - from) / span) * W;
  const geometry = points.map((p) => {
    const x0 = Math.max(0, xOf(new Date(p.window_start).getTime()));
    const x1 = Math.min(W, xOf(new Date(p.window_end).getTime()));
    const width = Math.max(1.5, (x1 - x0) * 0.8);
    return { x: x0 + (x1 - x0 - width) / 2, width, center: (x0 + x1) / 2 };
  });
  const yOf = (v: number) => H - (v / max) * (H - 4);
  const active = focused ?? hovered;
  const tabStop = roving ?? points.length - 1;
  const label = (i: number) => `${windowText(points[i])}: ${measure.describe(points[i], target)}`;
  const failed = points.filter((p) => p.status === 'failed').length;
  const peak = Math.max(0, ...liveValues.map((v) => v ?? 0));
  const catchUps = isLag ? points.filter((p) => p.catch_up).length : 0;

  /** The window under a pointer at `clientX`, or the nearest one within a few pixels (thin bars are hard to tap). */
  const pointAt = (e: PointerEvent<SVGSVGElement>): number | null => {
    const box = e.currentTarget.getBoundingClientRect();
    const x = ((e.clientX - box.left) / box.width) * W;
    let best: number | null = null;
    let distance = (12 / box.width) * W;
    geometry.forEach((g, i) => {
      const d = x >= g.x && x <= g.x + g.width ? 0 : Math.abs(x - g.center);
      if (d <= distance) {
        best = i;
        distance = d;
      }
    });
    return best;
  };
  const focusBar = (i: number) => {
    setRoving(i);
    bars.current[i]?.focus({ preventScroll: true });
  };
  const onKeyDown = (e: KeyboardEvent<SVGSVGElement>) => {
    if (focused === null) return;
    const next =
      e.key === 'ArrowRight'
        ? focused + 1
        : e.key === 'ArrowLeft'
          ? focused - 1
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? points.length - 1
              : null;
    if (next === null) return;
    e.preventDefault();
    focusBar(Math.min(points.length - 1, Math.max(0, next)));
  };

  const tip = active !== null ? points[active] : null;
  // The tooltip opens towards the middle of the chart, so it never leaves the card.
  const tipAt = active !== null ? (geometry[active].center / W) * 100 : 50;
  const tipStyle =
    tipAt > 65
      ? { right: `${Math.max(0, 100 - tipAt - 4)}%` }
      : tipAt < 35
        ? { left: `${Math.max(0, tipAt - 4)}%` }
        : { left: `${tipAt}%`, transform: 'translateX(-50%)' };
  const targetTop = (yOf(target) / H) * 100;

  return (
    <figure
      className="min-w-0 rounded-lg border border-slate-200 px-3 py-3"
      data-testid={`chart-${measure.label.toLowerCase().replace(/ /g, '-')}`}
    >
      <figcaption className="flex items-baseline justify-between gap-2 text-xs">
        <span className="font-medium text-slate-700">{measure.label}</span>
        <span className="text-slate-500">
          {isLag && catchUps
            ? `live max ${liveValues.length ? measure.format(peak) : '—'} · ${catchUps} catch-up`
            : `max ${measure.format(peak)}`}
        </span>
      </figcaption>
      <div className="relative mt-2">
        <svg
          viewBox={`0 0 ${W} ${H}`}
          preserveAspectRatio="none"
          className="block h-24 w-full touch-pan-y overflow-visible"
          role="group"
          aria-label={`${measure.label} per window since ${shortDay(new Date(from).toISOString())}: ${points.length} windows${failed ? `, ${failed} failed` : ''}, maximum ${measure.format(peak)}${isLag ? `, target ${targetText(target)}` : ''}. Use the arrow keys to move between windows.`}
          onKeyDown={onKeyDown}
          onPointerMove={(e) => e.pointerType === 'mouse' && setHovered(pointAt(e))}
          onPointerLeave={() => setHovered(null)}
          onPointerDown={(e) => {
            // A tap (touch or pen) pins the window's tooltip until the next tap elsewhere.
            if (e.pointerType === 'mouse') return;
            const i = pointAt(e);
            if (i !== null) focusBar(i);
          }}
        >
          <line x1="0" y1={H - 0.5} x2={W} y2={H - 0.5} stroke={COLORS.axis} vectorEffect="non-scaling-stroke" />
          {points.map((p, i) =>
            p.status === 'failed' ? (
              <rect key={`band-${p.window_start}`} x={geometry[i].x} y={0} width={geometry[i].width} height={H} fill={COLORS.failedBand} />
            ) : null,
          )}
          {isLag ? (
            <line
              x1="0"
              x2={W}
              y1={yOf(target)}
              y2={yOf(target)}
              stroke={COLORS.target}
              strokeWidth="1.5"
              strokeDasharray="5 4"
              vectorEffect="non-scaling-stroke"
              data-testid="lag-target"
            />
          ) : null}
          {points.map((p, i) => {
            const v = values[i];
            const g = geometry[i];
            // Missing (a failed window's lag) and zero (an empty window's rows) get a short marker at
            // the baseline, so the window is visible without pretending to a value.
            const h = v === null || v === 0 ? 3 : Math.max(2, H - yOf(Math.min(v, max)));
            const catchUp = isLag && p.catch_up;
            const fill = p.status === 'failed' ? COLORS.failed : catchUp ? COLORS.catchUp : p.status === 'empty' ? COLORS.empty : COLORS.ok;
            return (
              <rect
                key={p.window_start}
                ref={(el) => {
                  bars.current[i] = el;
                }}
                x={g.x}
                y={H - h}
                width={g.width}
                height={h}
                fill={fill}
                fillOpacity={active === null || active === i ? 1 : 0.55}
                stroke={focused === i ? '#0f172a' : 'none'}
                strokeWidth="2"
                vectorEffect="non-scaling-stroke"
                tabIndex={i === tabStop ? 0 : -1}
                role="img"
                aria-label={label(i)}
                data-status={p.status}
                data-catch-up={p.catch_up ? 'true' : undefined}
                className="cursor-pointer outline-none"
                onFocus={() => {
                  setFocused(i);
                  setRoving(i);
                }}
                onBlur={() => setFocused(null)}
              />
            );
          })}
        </svg>
        {isLag ? (
          <span
            aria-hidden
            className="pointer-events-none absolute left-0 -translate-y-full pb-0.5 text-[10px] leading-none font-medium"
            style={{ top: `${targetTop}%`, color: COLORS.target }}
          >
            {targetText(target)} target
          </span>
        ) : null}
        {tip ? (
          <div
            id={tipId}
            role="tooltip"
            data-testid="chart-tooltip"
            className="pointer-events-none absolute bottom-full z-10 mb-1.5 w-max max-w-56 rounded-md bg-slate-900 px-2.5 py-1.5 text-[11px] leading-4 text-white shadow-lg"
            style={tipStyle}
          >
            <p className="font-medium">{windowText(tip)}</p>
            <p className="text-slate-200">{measure.describe(tip, target)}</p>
          </div>
        ) : null}
      </div>
      <div className="mt-1 flex justify-between text-[10px] text-slate-400" aria-hidden>
        <span>{shortDay(new Date(from).toISOString())}</span>
        <span>{shortDay(new Date((from + to) / 2).toISOString())}</span>
        <span>{shortDay(stats.range.to)}</span>
      </div>
    </figure>
  );
}

export function StatsChart({ program, connection }: { program: number; connection: Connection }) {
  const q = useQuery({
    queryKey: ['stats', program, connection.id],
    queryFn: () => api<Stats>(`/api/v1/connections/${connection.id}/stats`, program, { query: { days: 30 } }),
    refetchInterval: 30_000,
  });
  const since = new Date(connection.start_date).getTime();
  const younger = q.data ? since > new Date(q.data.range.from).getTime() : false;
  return (
    <Card
      title="Last 30 days"
      actions={
        q.data && q.data.data.length > 0 ? (
          <Legend target={q.data.lag_target_seconds} catchUp={q.data.data.some((p) => p.catch_up)} />
        ) : undefined
      }
    >
      {younger ? (
        <p className="mb-3 text-xs text-slate-600" data-testid="chart-since">
          Since the connection’s start on {dateStr(connection.start_date)}.
        </p>
      ) : null}
      {q.isPending ? (
        <p className="text-sm text-slate-500">Loading…</p>
      ) : q.isError ? (
        <ErrorNotice title="The chart could not be loaded" error={q.error} />
      ) : q.data.data.length === 0 ? (
        <p className="text-sm text-slate-600">No windows finished in the last 30 days yet.</p>
      ) : (
        <div className="grid grid-cols-1 gap-3 md:grid-cols-3" data-testid="stats-chart">
          <MiniChart stats={q.data} measure={MEASURES.rows} since={since} />
          <MiniChart stats={q.data} measure={MEASURES.bytes} since={since} />
          <MiniChart stats={q.data} measure={MEASURES.lag} since={since} />
        </div>
      )}
    </Card>
  );
}
