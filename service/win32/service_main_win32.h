/* isapihost.exe as an NT service: what the Service Control Manager starts
 * (`isapihost service --name NAME --config FILE`, the ImagePath install
 * writes). Reports START_PENDING with checkpoints while the configuration
 * loads and the listeners open, then RUNNING; STOP, SHUTDOWN and
 * PRESHUTDOWN drain gracefully within the wait hint; PAUSE closes the
 * listeners and CONTINUE reopens them; PARAMCHANGE reloads the
 * configuration; INTERROGATE reports. ("Service Control Handler Function",
 * MSDN.) */
#ifndef IH_SERVICE_MAIN_WIN32_H
#define IH_SERVICE_MAIN_WIN32_H

/* Runs the service dispatcher; returns when the service has stopped. The
 * process exit code: 0, 1 when it was not started by the SCM (run it with
 * `isapihost start` or `net start`), or the start-up failure's. */
int ih_service_run(const char *name, const char *config_path);

#endif
