namespace Grpc.Core;

/// <summary>Fills in authentication metadata for a call.</summary>
public delegate Task AsyncAuthInterceptor(AuthInterceptorContext context, Metadata metadata);
