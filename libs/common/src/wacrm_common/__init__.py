"""wacrm shared library: settings, events, streams, models, migrations and dev servers."""
