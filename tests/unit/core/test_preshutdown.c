/* The preshutdown timeout follows shutdown_time_limit: the limit plus the
 * margin the stop watchdog needs to log why a stop ran out (preshutdown.h),
 * for the default limit as for any other, and never wraps; and the MSI asks
 * for what this function gives for the configuration it installs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/preshutdown.h"
#include "ih_test.h"

static void test_default_limit(void)
{
  IH_TEST("a configuration without shutdown_time_limit: 90 s + the margin");
  static const char text[] = "[site a]\nbindings = *:80\nroot = www\n";
  ih_config *cfg = NULL;
  char err[512] = "";
  if (!IH_CHECK(ih_config_parse(text, strlen(text), "t.ini", ".", &cfg, err, sizeof err) == 0)) {
    ih_test_note("%s", err);
    return;
  }
  IH_EQ_INT(cfg->server.shutdown_time_limit, 90);
  IH_EQ_INT(ih_preshutdown_timeout_ms(cfg->server.shutdown_time_limit), 100000);
  /* above the limit itself: the watchdog fires, then logs, then reports */
  IH_CHECK(ih_preshutdown_timeout_ms(cfg->server.shutdown_time_limit) > cfg->server.shutdown_time_limit * 1000u);
  ih_config_free(cfg);
}

static void test_follows_the_limit(void)
{
  IH_TEST("the limit plus the margin, in milliseconds");
  IH_EQ_INT(IH_PRESHUTDOWN_MARGIN_S, 10);
  IH_EQ_INT(ih_preshutdown_timeout_ms(1), 11000);
  IH_EQ_INT(ih_preshutdown_timeout_ms(300), 310000);
  IH_EQ_INT(ih_preshutdown_timeout_ms(86400), 86410000); /* the largest limit the configuration takes */
}

static void test_saturates(void)
{
  IH_TEST("a limit too large for a DWORD of milliseconds saturates, never wraps");
  IH_EQ_INT(ih_preshutdown_timeout_ms(UINT32_MAX / 1000u), UINT32_MAX);
  IH_EQ_INT(ih_preshutdown_timeout_ms(~0u), UINT32_MAX);
}

#ifndef IH_SOURCE_DIR
#error "IH_SOURCE_DIR must name the source tree"
#endif

static void test_msi_value(void)
{
  IH_TEST("the MSI's PreshutdownTimeout is the function's value for the config it installs");
  char *ini = ih_test_read_source(IH_SOURCE_DIR, "installer/sample/isapihost.ini");
  char *script = ih_test_read_source(IH_SOURCE_DIR, "installer/build-msi.sh");
  if (!IH_CHECK(ini != NULL) || !IH_CHECK(script != NULL)) {
    free(ini);
    free(script);
    return;
  }
  /* the installed configuration's limit, as the server reads it */
  char base[1024];
  snprintf(base, sizeof base, "%s/installer/sample", IH_SOURCE_DIR);
  ih_config *cfg = NULL;
  char err[512] = "";
  if (IH_CHECK(ih_config_parse(ini, strlen(ini), "isapihost.ini", base, &cfg, err, sizeof err) == 0)) {
    const char *row = strstr(script, "\nsvccfg PreshutdownTimeout 7 ");
    if (IH_CHECK(row != NULL)) {
      unsigned long msi_ms = strtoul(row + strlen("\nsvccfg PreshutdownTimeout 7 "), NULL, 10);
      IH_EQ_INT(msi_ms, ih_preshutdown_timeout_ms(cfg->server.shutdown_time_limit));
    }
    ih_config_free(cfg);
  } else {
    ih_test_note("%s", err);
  }
  free(ini);
  free(script);
}

int main(void)
{
  test_default_limit();
  test_follows_the_limit();
  test_saturates();
  test_msi_value();
  return ih_test_finish();
}
