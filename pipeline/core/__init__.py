"""The pure core: no clock, disk or network; everything it needs is passed in."""
