/* SPDX-License-Identifier: MIT */
/* vessel: the desktop app. */
#include <glib/gi18n.h>
#include <locale.h>

#include "vessel-application.h"

/* Translations: $VESSEL_LOCALEDIR, else the installed ones, else the build tree's (running
 * uninstalled from the build directory). */
static const char *locale_dir(void)
{
    const char *env = g_getenv("VESSEL_LOCALEDIR");
    if (env && env[0])
        return env;
    g_autofree char *installed =
        g_build_filename(VESSEL_LOCALEDIR, "zh_CN", "LC_MESSAGES", GETTEXT_PACKAGE ".mo", NULL);
    if (g_file_test(installed, G_FILE_TEST_EXISTS))
        return VESSEL_LOCALEDIR;
    return VESSEL_BUILD_LOCALEDIR;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    bindtextdomain(GETTEXT_PACKAGE, locale_dir());
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    textdomain(GETTEXT_PACKAGE);
    g_set_application_name(_("Vessel"));
    g_autoptr(VesselApplication) app = vessel_application_new();
    return g_application_run(G_APPLICATION(app), argc, argv);
}
