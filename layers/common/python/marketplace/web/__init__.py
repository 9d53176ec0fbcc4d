"""What every HTTP function shares, whatever its area: the route declaration and its wrapper
(`http`), the list shapes (`pages`), the middleware rendering Chalice's own errors (`middleware`)
and the OpenAPI document built from the declarations (`openapi`). It lives in the layer, not in
the function package, because it is the same for every route (docs/adr/0019-route-glue-in-the-layer.md);
an area's routes stay in functions/chalicelib/<area>.py. Chalice itself ships in the function
package (Chalice adds it), which is on the path before the layer.
"""
