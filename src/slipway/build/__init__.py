"""The build: making the image, and what a build is.

:mod:`~slipway.build.images` builds the Dockerfile's targets and describes
the images; :mod:`~slipway.build.failures` says in one line why a build
failed; :mod:`~slipway.build.ignore` keeps what never enters an image out
of the build context; :mod:`~slipway.build.dockerfile` reads a Dockerfile
without building it (the images its build starts from);
:mod:`~slipway.build.release` is what a prod build is (its source revision,
immutable tag and OCI labels); :mod:`~slipway.build.sbom` is a release's
software bill of materials; :mod:`~slipway.build.testrun` runs the service's
tests inside the `test` image.
"""
