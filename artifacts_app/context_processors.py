from django.conf import settings


def data_source(request):
    """Tells every page whether it shows the bundled simulator's demo data."""
    return {"demo_data": settings.ASC_DEMO_DATA}
