"""The process of a DataTransferStep: copy the input (a folder, or one file) into the output folder."""
import os
import shutil
import sys

source, target = sys.argv[1], sys.argv[2]
os.makedirs(target, exist_ok=True)
if os.path.isdir(source):
    shutil.copytree(source, target, dirs_exist_ok=True)
else:
    shutil.copy2(source, os.path.join(target, os.path.basename(source)))
print(f"copied {source} -> {target}")
