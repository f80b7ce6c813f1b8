"""The built-in dataset's simulator: photometry fitted to real DR14 objects, GalSim cutouts fitted to real SkyServer
cutouts, and the fits themselves. `python -m ingest simulate` runs it; it writes records through ingest/."""
