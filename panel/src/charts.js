// Chart.js, registered piece by piece so the bundle carries only what the panel draws.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

import { bucketLabel, formatCount, formatDuration } from './format.js';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
);

const VIEWS = '#2563eb';
const TIME = '#d97706';

function baseOptions() {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    interaction: { mode: 'index', intersect: false },
    plugins: { legend: { position: 'bottom' } },
  };
}

/** Views (bars, left axis) and average time in view (line, right axis) by position. */
export function positionChart(canvas) {
  return new Chart(canvas, {
    type: 'bar',
    data: { labels: [], datasets: [] },
    options: {
      ...baseOptions(),
      scales: {
        x: { title: { display: true, text: 'position in the article' } },
        views: {
          type: 'linear',
          position: 'left',
          beginAtZero: true,
          title: { display: true, text: 'views' },
          ticks: { callback: (value) => formatCount(value) },
        },
        avg: {
          type: 'linear',
          position: 'right',
          beginAtZero: true,
          grid: { drawOnChartArea: false },
          title: { display: true, text: 'avg time in view' },
          ticks: { callback: (value) => formatDuration(value) },
        },
      },
      plugins: {
        ...baseOptions().plugins,
        tooltip: {
          callbacks: {
            label: (item) =>
              item.dataset.yAxisID === 'avg'
                ? `avg time in view: ${formatDuration(item.raw)}`
                : `views: ${formatCount(item.raw)}`,
          },
        },
      },
    },
  });
}

export function showPositions(chart, subbuzzes) {
  const positions = subbuzzes.map((row) => row.position);
  const repeated = new Set(positions.filter((value, index) => positions.indexOf(value) !== index));
  chart.data.labels = subbuzzes.map((row) =>
    repeated.has(row.position) ? `${row.position} · ${row.subbuzzId}` : String(row.position),
  );
  chart.data.datasets = [
    {
      type: 'bar',
      label: 'views',
      yAxisID: 'views',
      data: subbuzzes.map((row) => Number(row.views)),
      backgroundColor: `${VIEWS}b3`,
      borderColor: VIEWS,
      order: 2,
    },
    {
      type: 'line',
      label: 'avg time in view',
      yAxisID: 'avg',
      data: subbuzzes.map((row) => row.avgTimeMs),
      borderColor: TIME,
      backgroundColor: TIME,
      pointRadius: subbuzzes.length > 40 ? 0 : 2,
      tension: 0.2,
      order: 1,
    },
  ];
  chart.update();
}

export function seriesChart(canvas) {
  return new Chart(canvas, {
    type: 'line',
    data: { labels: [], datasets: [] },
    options: {
      ...baseOptions(),
      scales: {
        x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 12 } },
        y: {
          beginAtZero: true,
          title: { display: true, text: 'views' },
          ticks: { callback: (value) => formatCount(value) },
        },
      },
    },
  });
}

export function showSeries(chart, points, granularity) {
  chart.data.labels = points.map((point) => bucketLabel(point.start, granularity));
  chart.data.datasets = [
    {
      label: granularity === 'DAY' ? 'views per day (UTC)' : 'views per hour (UTC)',
      data: points.map((point) => Number(point.views)),
      borderColor: VIEWS,
      backgroundColor: `${VIEWS}26`,
      fill: true,
      pointRadius: 0,
      tension: 0.2,
    },
  ];
  chart.update();
}
