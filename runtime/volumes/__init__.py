"""Named volumes: directories in pyreg's store that containers mount and
that outlive them (store.py), filled from the image on first use (copyup.py)."""
