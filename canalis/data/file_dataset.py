"""`FileDataset`: a set of files."""
from canalis.data.abstract_dataset import AbstractDataset


class FileDataset(AbstractDataset):
    kind = "file"

    def mount(self, mount_point=None):
        """Offline there is nothing to mount: the files are downloaded read-only instead."""
        return _Mounted(self, mount_point)


class _Mounted:
    def __init__(self, dataset, mount_point):
        import tempfile

        self.dataset = dataset
        self.mount_point = mount_point or tempfile.mkdtemp(prefix="canalis-mount-")

    def start(self):
        self.dataset.download(self.mount_point, overwrite=True)

    def stop(self):
        import shutil

        shutil.rmtree(self.mount_point, ignore_errors=True)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
