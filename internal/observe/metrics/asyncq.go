package metrics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portico-dev/portico/internal/invocation"
)

// Queues registers the gauges of the functions' asynchronous queues, read
// from f at each scrape: portico_lambda_async_queue_depth (events queued,
// waiting for a retry or running) and
// portico_lambda_async_queue_oldest_age_seconds, by function.
func (m *Metrics) Queues(f func() []invocation.QueueStatus) error {
	if err := m.reg.Register(queueCollector(f)); err != nil {
		return fmt.Errorf("metrics: register async queue gauges: %w", err)
	}
	return nil
}

var (
	queueDepthDesc = prometheus.NewDesc("portico_lambda_async_queue_depth",
		"Asynchronous invocations held for a function: queued, waiting for a retry or running.", []string{"function"}, nil)
	queueAgeDesc = prometheus.NewDesc("portico_lambda_async_queue_oldest_age_seconds",
		"Age of the oldest asynchronous invocation held for a function (0 when none).", []string{"function"}, nil)
)

type queueCollector func() []invocation.QueueStatus

func (queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepthDesc
	ch <- queueAgeDesc
}

func (f queueCollector) Collect(ch chan<- prometheus.Metric) {
	for _, q := range f() {
		ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(q.Depth), q.Function)
		ch <- prometheus.MustNewConstMetric(queueAgeDesc, prometheus.GaugeValue, q.OldestAge.Seconds(), q.Function)
	}
}
