"""C@p Géo: community GIS platform (project package: settings, urls, territory, accounts)."""
