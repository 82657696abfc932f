/* The Prometheus registry: the exposition text, byte for byte. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"
#include "status.h"

static char *render(struct wfe_metrics *metrics)
{
  struct wfe_buf out = WFE_BUF_INIT;
  assert_int_equal(wfe_metrics_render(metrics, &out), 0);
  char *text = wfe_buf_steal(&out);
  return text ? text : strdup("");
}

static void assert_renders(struct wfe_metrics *metrics, const char *expected)
{
  char *text = render(metrics);
  assert_string_equal(text, expected);
  free(text);
}

static void test_metrics_counter_renders_help_type_and_value(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  struct wfe_metric *counter =
      wfe_metrics_counter(metrics, "wfe_things_total", "Things done.", NULL, 0);
  assert_non_null(counter);
  wfe_metric_add(counter, NULL, 1);
  wfe_metric_add(counter, NULL, 2.5);
  assert_renders(metrics, "# HELP wfe_things_total Things done.\n"
                          "# TYPE wfe_things_total counter\n"
                          "wfe_things_total 3.5\n");
  wfe_metrics_free(metrics);
}

static void test_metrics_counter_ignores_negative_increments(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  struct wfe_metric *counter =
      wfe_metrics_counter(metrics, "c_total", "C.", NULL, 0);
  wfe_metric_add(counter, NULL, 5);
  wfe_metric_add(counter, NULL, -3);
  wfe_metric_set(counter, NULL, 0); /* set is for gauges */
  double value = 0;
  assert_int_equal(wfe_metric_get(counter, NULL, &value), 0);
  assert_true(value == 5);
  wfe_metrics_free(metrics);
}

static void
test_metrics_unlabelled_family_shows_zero_before_first_use(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  wfe_metrics_gauge(metrics, "up", "Up.", NULL, 0);
  assert_renders(metrics, "# HELP up Up.\n# TYPE up gauge\nup 0\n");
  wfe_metrics_free(metrics);
}

static void
test_metrics_labelled_gauge_sorts_series_by_label_values(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  const char *const labels[] = {"engine", "phase"};
  struct wfe_metric *gauge =
      wfe_metrics_gauge(metrics, "wfe_runs", "Runs by phase.", labels, 2);
  /* Nothing is shown before the first series exists. */
  assert_renders(metrics, "");
  wfe_metric_set(gauge, (const char *const[]){"tekton", "Running"}, 3);
  wfe_metric_set(gauge, (const char *const[]){"argo", "Running"}, 1e6);
  wfe_metric_add(gauge, (const char *const[]){"tekton", "Failed"}, 2);
  wfe_metric_add(gauge, (const char *const[]){"tekton", "Failed"}, -0.5);
  assert_renders(metrics, "# HELP wfe_runs Runs by phase.\n"
                          "# TYPE wfe_runs gauge\n"
                          "wfe_runs{engine=\"argo\",phase=\"Running\"} 1e+06\n"
                          "wfe_runs{engine=\"tekton\",phase=\"Failed\"} 1.5\n"
                          "wfe_runs{engine=\"tekton\",phase=\"Running\"} 3\n");
  wfe_metrics_free(metrics);
}

static void test_metrics_histogram_renders_cumulative_buckets(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  const char *const labels[] = {"name"};
  const double buckets[] = {1e-5, 0.005, 0.25, 1, 100};
  struct wfe_metric *histogram = wfe_metrics_histogram(
      metrics, "wfe_duration_seconds", "How long.", labels, 1, buckets, 5);
  const char *const q[] = {"q"};
  wfe_metric_observe(histogram, q, 0.001);
  wfe_metric_observe(histogram, q, 0.25); /* the bound is inclusive */
  wfe_metric_observe(histogram, q, 0.5);
  wfe_metric_observe(histogram, q, 1000);
  assert_renders(metrics,
                 "# HELP wfe_duration_seconds How long.\n"
                 "# TYPE wfe_duration_seconds histogram\n"
                 "wfe_duration_seconds_bucket{name=\"q\",le=\"1e-05\"} 0\n"
                 "wfe_duration_seconds_bucket{name=\"q\",le=\"0.005\"} 1\n"
                 "wfe_duration_seconds_bucket{name=\"q\",le=\"0.25\"} 2\n"
                 "wfe_duration_seconds_bucket{name=\"q\",le=\"1\"} 3\n"
                 "wfe_duration_seconds_bucket{name=\"q\",le=\"100\"} 3\n"
                 "wfe_duration_seconds_bucket{name=\"q\",le=\"+Inf\"} 4\n"
                 "wfe_duration_seconds_sum{name=\"q\"} 1000.751\n"
                 "wfe_duration_seconds_count{name=\"q\"} 4\n");
  wfe_metrics_free(metrics);
}

static void test_metrics_unlabelled_histogram_has_only_le(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  const double buckets[] = {1};
  struct wfe_metric *histogram =
      wfe_metrics_histogram(metrics, "h", "H.", NULL, 0, buckets, 1);
  wfe_metric_observe(histogram, NULL, 0.5);
  assert_renders(metrics, "# HELP h H.\n"
                          "# TYPE h histogram\n"
                          "h_bucket{le=\"1\"} 1\n"
                          "h_bucket{le=\"+Inf\"} 1\n"
                          "h_sum 0.5\n"
                          "h_count 1\n");
  wfe_metrics_free(metrics);
}

static void test_metrics_escapes_label_values_and_help(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  const char *const labels[] = {"path"};
  struct wfe_metric *counter = wfe_metrics_counter(
      metrics, "e_total", "Help with \\ and\nnewline and \"quotes\".", labels,
      1);
  wfe_metric_add(counter, (const char *const[]){"a\\b\"c\nd"}, 1);
  assert_renders(metrics, "# HELP e_total Help with \\\\ and\\nnewline and "
                          "\"quotes\".\n"
                          "# TYPE e_total counter\n"
                          "e_total{path=\"a\\\\b\\\"c\\nd\"} 1\n");
  wfe_metrics_free(metrics);
}

static void test_metrics_formats_floats_like_go_clients(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  const char *const labels[] = {"v"};
  struct wfe_metric *gauge = wfe_metrics_gauge(metrics, "f", "F.", labels, 1);
  const struct {
    const char *label;
    double value;
  } cases[] = {
      {"a", 0.1},   {"b", 1e-8},      {"c", 0.0001},   {"d", 123456},
      {"e", 1.5e9}, {"f", -2},        {"g", INFINITY}, {"h", -INFINITY},
      {"i", 1e21},  {"j", 0.1 + 0.2},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    wfe_metric_set(gauge, (const char *const[]){cases[i].label},
                   cases[i].value);
  assert_renders(metrics, "# HELP f F.\n"
                          "# TYPE f gauge\n"
                          "f{v=\"a\"} 0.1\n"
                          "f{v=\"b\"} 1e-08\n"
                          "f{v=\"c\"} 0.0001\n"
                          "f{v=\"d\"} 123456\n"
                          "f{v=\"e\"} 1.5e+09\n"
                          "f{v=\"f\"} -2\n"
                          "f{v=\"g\"} +Inf\n"
                          "f{v=\"h\"} -Inf\n"
                          "f{v=\"i\"} 1e+21\n"
                          "f{v=\"j\"} 0.30000000000000004\n");
  wfe_metrics_free(metrics);
}

static void test_metrics_families_render_sorted_by_name(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  wfe_metrics_gauge(metrics, "zeta", "Z.", NULL, 0);
  wfe_metrics_gauge(metrics, "alpha", "A.", NULL, 0);
  assert_renders(metrics, "# HELP alpha A.\n# TYPE alpha gauge\nalpha 0\n"
                          "# HELP zeta Z.\n# TYPE zeta gauge\nzeta 0\n");
  wfe_metrics_free(metrics);
}

static void test_metrics_registering_twice_returns_the_same_family(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  const char *const labels[] = {"name"};
  const char *const other[] = {"queue"};
  struct wfe_metric *first = wfe_metrics_counter(metrics, "x", "X.", labels, 1);
  assert_non_null(first);
  assert_ptr_equal(wfe_metrics_counter(metrics, "x", "X.", labels, 1), first);
  assert_null(wfe_metrics_gauge(metrics, "x", "X.", labels, 1));
  assert_null(wfe_metrics_counter(metrics, "x", "X.", other, 1));
  assert_null(wfe_metrics_counter(metrics, "x", "X.", NULL, 0));
  wfe_metrics_free(metrics);
}

static void test_metrics_rejects_invalid_names(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  const char *const bad_label[] = {"1abc"};
  const char *const reserved[] = {"__name"};
  const char *const le[] = {"le"};
  const char *const twice[] = {"a", "a"};
  const double unsorted[] = {1, 0.5};
  assert_null(wfe_metrics_counter(metrics, "9lives", "", NULL, 0));
  assert_null(wfe_metrics_counter(metrics, "has-dash", "", NULL, 0));
  assert_null(wfe_metrics_counter(metrics, "ok", "", bad_label, 1));
  assert_null(wfe_metrics_counter(metrics, "ok", "", reserved, 1));
  assert_null(wfe_metrics_counter(metrics, "ok", "", twice, 2));
  assert_null(wfe_metrics_histogram(metrics, "h", "", le, 1, NULL, 0));
  assert_null(wfe_metrics_histogram(metrics, "h", "", NULL, 0, unsorted, 2));
  assert_non_null(wfe_metrics_counter(metrics, "ns:ok_total", "", NULL, 0));
  wfe_metrics_free(metrics);
}

static void test_metrics_null_family_updates_are_no_ops(void **state)
{
  double value;
  wfe_metric_add(NULL, NULL, 1);
  wfe_metric_set(NULL, NULL, 1);
  wfe_metric_observe(NULL, NULL, 1);
  assert_int_equal(wfe_metric_get(NULL, NULL, &value), WFE_E_NOT_FOUND);
  wfe_metrics_free(NULL);
}

struct hammer_args {
  struct wfe_metric *counter;
  struct wfe_metric *histogram;
};

static void *hammer(void *arg)
{
  struct hammer_args *args = arg;
  char label[16];
  for (int i = 0; i < 10000; i++) {
    snprintf(label, sizeof(label), "k%d", i % 7);
    wfe_metric_add(args->counter, (const char *const[]){label}, 1);
    wfe_metric_observe(args->histogram, (const char *const[]){label}, 0.5);
  }
  return NULL;
}

static void test_metrics_concurrent_updates_are_not_lost(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  const char *const labels[] = {"k"};
  const double buckets[] = {1};
  struct hammer_args args = {
      wfe_metrics_counter(metrics, "n_total", "N.", labels, 1),
      wfe_metrics_histogram(metrics, "d", "D.", labels, 1, buckets, 1),
  };
  pthread_t threads[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&threads[i], NULL, hammer, &args);
  for (int i = 0; i < 4; i++)
    pthread_join(threads[i], NULL);
  double total = 0, count = 0;
  for (int k = 0; k < 7; k++) {
    char label[16];
    double value;
    snprintf(label, sizeof(label), "k%d", k);
    assert_int_equal(
        wfe_metric_get(args.counter, (const char *const[]){label}, &value), 0);
    total += value;
    assert_int_equal(
        wfe_metric_get(args.histogram, (const char *const[]){label}, &value),
        0);
    count += value;
  }
  assert_true(total == 40000);
  assert_true(count == 40000);
  wfe_metrics_free(metrics);
}

static int hook_calls;
static void count_hook(void *ctx)
{
  hook_calls++;
  wfe_metric_set(ctx, NULL, hook_calls);
}

static void test_metrics_render_hooks_run_before_rendering(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  struct wfe_metric *gauge = wfe_metrics_gauge(metrics, "g", "G.", NULL, 0);
  hook_calls = 0;
  assert_int_equal(wfe_metrics_add_render_hook(metrics, count_hook, gauge), 0);
  assert_renders(metrics, "# HELP g G.\n# TYPE g gauge\ng 1\n");
  wfe_metrics_remove_render_hook(metrics, count_hook, gauge);
  assert_renders(metrics, "# HELP g G.\n# TYPE g gauge\ng 1\n");
  assert_int_equal(hook_calls, 1);
  wfe_metrics_free(metrics);
}

static void test_metrics_process_collector_reads_proc_self(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  assert_int_equal(wfe_metrics_register_process_collector(metrics), 0);
  assert_int_equal(wfe_metrics_register_process_collector(metrics), 0);
  char *text = render(metrics);
  assert_non_null(strstr(text, "# TYPE process_cpu_seconds_total counter\n"));
  assert_non_null(strstr(text, "\nprocess_open_fds "));
  assert_non_null(strstr(text, "\nprocess_max_fds "));
  const char *rss = strstr(text, "\nprocess_resident_memory_bytes ");
  const char *start = strstr(text, "\nprocess_start_time_seconds ");
  assert_non_null(rss);
  assert_non_null(start);
  assert_true(strtod(rss + strlen("\nprocess_resident_memory_bytes "), NULL) >
              0);
  /* Started after 2020-01-01. */
  assert_true(strtod(start + strlen("\nprocess_start_time_seconds "), NULL) >
              1577836800.0);
  free(text);
  wfe_metrics_free(metrics);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_metrics_counter_renders_help_type_and_value),
      cmocka_unit_test(test_metrics_counter_ignores_negative_increments),
      cmocka_unit_test(
          test_metrics_unlabelled_family_shows_zero_before_first_use),
      cmocka_unit_test(
          test_metrics_labelled_gauge_sorts_series_by_label_values),
      cmocka_unit_test(test_metrics_histogram_renders_cumulative_buckets),
      cmocka_unit_test(test_metrics_unlabelled_histogram_has_only_le),
      cmocka_unit_test(test_metrics_escapes_label_values_and_help),
      cmocka_unit_test(test_metrics_formats_floats_like_go_clients),
      cmocka_unit_test(test_metrics_families_render_sorted_by_name),
      cmocka_unit_test(test_metrics_registering_twice_returns_the_same_family),
      cmocka_unit_test(test_metrics_rejects_invalid_names),
      cmocka_unit_test(test_metrics_null_family_updates_are_no_ops),
      cmocka_unit_test(test_metrics_concurrent_updates_are_not_lost),
      cmocka_unit_test(test_metrics_render_hooks_run_before_rendering),
      cmocka_unit_test(test_metrics_process_collector_reads_proc_self),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
