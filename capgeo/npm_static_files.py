"""Serve chosen files of npm packages as static files, without collecting whole packages.

The npm registry is where front-end libraries come from (no CDN); node_modules holds thousands of
module files of which the platform needs a handful. NPM_STATIC_FILES maps a static path to a file
under node_modules.
"""
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage


class NpmFileFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        self.root = Path(settings.BASE_DIR) / "node_modules"
        self.files = dict(getattr(settings, "NPM_STATIC_FILES", {}))
        super().__init__(*args, **kwargs)

    def check(self, **kwargs):
        missing = [src for src in self.files.values() if not (self.root / src).is_file()]
        if missing:
            return [Error(
                f"Fichiers npm absents : {', '.join(missing)}.",
                hint="Lancez ./run.sh setup (npm ci) pour installer les bibliothèques JavaScript.",
                id="capgeo.E001",
            )]
        return []

    def find(self, path, find_all=False, **kwargs):
        source = self.files.get(path)
        if source is None or not (self.root / source).is_file():
            return []  # like Django's finders: an empty list, never None, when nothing matches
        found = str(self.root / source)
        return [found] if find_all else found

    def list(self, ignore_patterns):
        for static_path, source in self.files.items():
            full = self.root / source
            if not full.is_file():
                continue
            # A storage rooted so that the static path maps onto the npm file.
            storage = _SingleFileStorage(full, static_path)
            yield static_path, storage


class _SingleFileStorage(FileSystemStorage):
    def __init__(self, full_path, static_path):
        self.full_path = full_path
        self.static_path = static_path
        super().__init__(location=str(full_path.parent))

    def path(self, name):
        return str(self.full_path)

    def open(self, name, mode="rb"):
        return super().open(self.full_path.name, mode)
